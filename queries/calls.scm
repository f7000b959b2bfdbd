; Call sites: a plain identifier callee, or a member of a struct (member function).
(call_expression function: (identifier) @call.direct)
(call_expression function: (field_expression field: (field_identifier) @call.member))
