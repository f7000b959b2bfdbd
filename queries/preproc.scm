; Includes and macro definitions.
(preproc_include path: (_) @include.path)
(preproc_def name: (identifier) @macro.object)
(preproc_function_def name: (identifier) @macro.function)
