; Every type name written in the source: typedef names and struct/union/enum tags.
(type_identifier) @type.name

; The base of a member access ``p->f`` / ``s.f`` that is a plain name (a local or parameter):
; its struct must be complete there.
(field_expression argument: (identifier) @member.base)

; A plain name (a local or parameter) indexed or stepped (``v[i]``, ``p++``, ``p + n``): a
; pointer to a struct needs the struct complete there (the size of its elements).
(subscript_expression argument: (identifier) @element.base)
(update_expression argument: (identifier) @element.base)
(binary_expression left: (identifier) @element.base operator: ["+" "-"])

; ``sizeof(*p)`` / ``sizeof *p`` of such a name: the struct's size.
(sizeof_expression value: (parenthesized_expression
  (pointer_expression operator: "*" argument: (identifier) @sizeof.base)))
(sizeof_expression value: (pointer_expression operator: "*" argument: (identifier) @sizeof.base))
