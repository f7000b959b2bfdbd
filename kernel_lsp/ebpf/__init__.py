"""The eBPF validator: ISA table, four input forms, structural verification, interpreter.

Map of the package (no module here imports pygls or lsprotocol):

* ``insn`` typed slots and programs; ``isa`` every legal encoding (RFC 9669 incl. v4) with
  ``lookup``/``reserved_field_problem``; ``helpers`` helper ids/names and program types of 6.1.
* Input forms: ``decode`` raw bytecode, ``elf`` clang objects, ``asmtext`` assembly text,
  ``carray`` ``struct bpf_insn`` arrays in C; ``inputs.load_file`` picks one by content/extension.
* Verification (tiers T0-T1): ``verify.verify(program, VerifyOptions)`` runs the phases in
  ``cfg`` and ``structural``; findings are ``findings.BpfFinding`` with the codes documented in
  ``docs/ebpf-codes.md``.
* Execution: ``interp`` and its region ``memory``; printing: ``disasm``.
* CLI: ``cli.register`` adds ``kernel-lsp bpf check|run|dis``.
"""
