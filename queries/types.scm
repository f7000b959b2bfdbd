; Every type name written in the source: typedef names and struct/union/enum tags.
(type_identifier) @type.name
