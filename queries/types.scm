; Every type name written in the source: typedef names and struct/union/enum tags.
(type_identifier) @type.name

; The base of a member access ``p->f`` / ``s.f`` that is a plain name (a local or parameter):
; its struct must be complete there.
(field_expression argument: (identifier) @member.base)
