; Block-scope declarations name the locals of a function.
(compound_statement (declaration) @local.decl)
(for_statement initializer: (declaration) @local.decl)
(compound_statement (declaration type: (macro_type_specifier)) @local.macro_decl)
