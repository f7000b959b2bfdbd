"""The eBPF validator: ISA table, four input forms, verification, reference interpreter.

Map of the package (a pipeline of phases over typed instructions; nothing here imports pygls or
lsprotocol, and the commands live in ``kernel_lsp.batch.bpf_*``):

* Root: ``insn`` typed slots and programs; ``isa`` every legal encoding (RFC 9669 incl. v4);
  ``helpers`` helper ids/names and program types of 6.1, ``helperavail`` (generated) which
  program type may call which helper; ``alu`` the ISA's integer arithmetic;
  ``ctxstructs`` UAPI context layouts; ``findings`` the validator's finding record; ``disasm``
  the printer; ``csource`` findings of ``struct bpf_insn`` arrays in C files.
* ``load/``: input forms — ``raw`` bytecode, ``elf`` clang objects, ``asmtext`` assembly,
  ``carray`` C arrays; ``load.load_file`` picks one by content and extension.
* ``verify/``: ``verify(program, VerifyOptions)`` runs the phases (``structural`` T0, ``cfg``
  T1, then ``dataflow/`` T2-T5: the path walk with Linux 6.1's rules; ``explain`` adds its log,
  ``abstract_states`` the state before each instruction); codes are in
  ``kernel_lsp.findings.codes`` and documented in ``docs/ebpf-codes.md``.
* ``run/``: the reference ``interp``reter over isolating region ``memory``, with ``maps`` and
  helper emulation and ``ctxlayout`` contexts.
"""
