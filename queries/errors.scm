; Regions the grammar could not parse; type names inside them are not trusted.
(ERROR) @error
