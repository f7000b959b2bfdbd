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

; An argument of a macro invoked as a statement head (an iterator:
; ``list_for_each_entry(pos, head, member) {``, no ``;`` follows): a plain name, which the
; macro's body may dereference (``parse/macroargs.py`` decides when checking).
(expression_statement
  (call_expression function: (identifier) arguments: (argument_list (identifier) @iter.arg))
  (MISSING))

; ``container_of(p, struct foo, member)``: a struct or union named as a macro argument (the
; grammar reads the keyword as an error and the tag as a plain name, or the keyword as a name
; and the tag as an error).
(argument_list (ERROR) @typearg.keyword . (identifier))
(argument_list (identifier) @typearg.keyword . (ERROR . (identifier) .))
