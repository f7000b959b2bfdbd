; Definitions and declarations at any depth; extract.py decides scope from byte ranges.
(function_definition) @func.def
(declaration) @decl
(type_definition) @typedef
(struct_specifier body: (field_declaration_list)) @record.def
(union_specifier body: (field_declaration_list)) @record.def
(enum_specifier body: (enumerator_list)) @record.def
