"""Soundness of the dataflow verifier against the reference interpreter (hypothesis).

The interpreter isolates every access in memory regions (the femto-container model), so a region
fault is a memory-safety violation the verifier should have prevented. Two properties, on
programs built to stress pointers, packet bounds and NULL checks (``tests/ebpf_stress.py``):

* every program the verifier accepts runs on random inputs without a region fault;
* the verifier never accepts a program that the interpreter shows faulting.

Both run under the privileged and the unprivileged rules. The profile is the one
``test_ebpf_properties`` registers (``KERNEL_LSP_HYPOTHESIS=long`` for a long run).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tests.test_ebpf_properties  # noqa: F401  (registers and loads the hypothesis profile)
from kernel_lsp.ebpf.disasm import disassemble
from kernel_lsp.ebpf.run.interp import run
from kernel_lsp.ebpf.verify import VerifyOptions, accepted, verify
from kernel_lsp.ebpf.verify.dataflow import INTERNAL_ERROR
from tests.ebpf_stress import pointer_program

BUDGET = 5000


def _faults(program, data: bytes, seed: int = 1):
    """The region fault of one run (``seed`` drives bpf_get_prandom_u32), or None."""
    result = run(program, data, prog_type=program.prog_type, packet=True, budget=BUDGET,
                 seed=seed)
    return result.fault if result.fault is not None and result.fault.kind == "region" else None


def _verdict(program, unprivileged: bool) -> bool:
    found = verify(program, VerifyOptions(prog_type=program.prog_type, unprivileged=unprivileged))
    assert not any(INTERNAL_ERROR in f.message for f in found), found
    return accepted(found)


seeds = st.integers(1, 2**32 - 1)


@given(pointer_program, st.lists(st.tuples(st.binary(max_size=64), seeds), min_size=1,
                                 max_size=4), st.booleans())
def test_accepted_pointer_programs_never_region_fault(program, inputs, unprivileged):
    if not _verdict(program, unprivileged):
        return
    for data, seed in inputs:
        fault = _faults(program, data, seed)
        assert fault is None, f"{fault.message}\n{disassemble(program, numbered=True)}"


@given(pointer_program, st.binary(max_size=64), seeds, st.booleans())
def test_never_accepts_a_program_the_interpreter_shows_faulting(program, data, seed,
                                                               unprivileged):
    fault = _faults(program, data, seed)
    if fault is not None:
        assert not _verdict(program, unprivileged), (
            f"accepted, but {fault.message}\n{disassemble(program, numbered=True)}")


# ---- unsafe accepts found and fixed ----------------------------------------------------------
# Each program is assembly text with its options in the fixture syntax of
# ``tests/test_ebpf_structural.py`` (``; map: SLOT KIND KEY VALUE MAX ...``, ``; prog_type: T``)
# and an ``; expect: CODE at N`` line: the finding that rejects it now (every one of them was
# accepted before its fix). ``; fault: N`` names the instruction where the interpreter shows the
# accepted program faulting on some input, when it can run the program at all.
UNSAFE = {
    # State pruning compared two scalars linked by an id (r9 = r8) with registers equal in
    # everything but the link: an equal register skipped the id map, so the path where r9 is a
    # constant (and r8 still unbounded) was pruned against the one where checking r9 bounds r8.
    "pruning: an equal register skipped the id map": """
; expect: E302 at 15
; fault: 16
; map: 10 array 4 16 1
call bpf_get_prandom_u32
r8 = r0
call bpf_get_prandom_u32
if r0 > 5 goto +2
r9 = r8
goto +1
r9 = 0
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map[fd:0]
call bpf_map_lookup_elem
if r0 == 0 goto +4
if r9 > 8 goto +3
r0 += r8
r1 = *(u64 *)(r0 + 0)
r0 = 0
exit
""",
    # ... and an id of 0 in the current state (w9 = w8 links nothing) was mapped like any id,
    # so two registers linked in the old state matched two unlinked ones.
    "pruning: two registers linked in the old state, neither in the new": """
; expect: E403 at 16
; map: 10 array 4 16 1
call bpf_get_prandom_u32
w8 = w0
call bpf_get_prandom_u32
if r0 > 5 goto +2
r9 = r8
goto +1
w9 = w8
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map[fd:0]
call bpf_map_lookup_elem
if r0 == 0 goto +4
if r9 > 8 goto +3
r0 += r8
r1 = *(u64 *)(r0 + 0)
r0 = 0
exit
""",
    # ... and each frame had its own id map, though a link spans frames: the callee's check of
    # its argument bounds the caller's copy (r6) only on the path that passed r6.
    "pruning: a link from the caller's frame to the callee's": """
; expect: E302 at 16
; fault: 17
; map: 12 array 4 16 1
call bpf_get_prandom_u32
r6 = r0
call bpf_get_prandom_u32
if r0 > 5 goto +2
r1 = r6
goto +1
r1 = 0
call pc+12
if r0 != 0 goto +9
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map[fd:0]
call bpf_map_lookup_elem
if r0 == 0 goto +2
r0 += r6
r1 = *(u64 *)(r0 + 0)
r0 = 0
exit
if r1 > 8 goto +2
r0 = 0
exit
r0 = 1
exit
""",
    # The id of a map value with a bpf_spin_lock names the lock, but pruning compared non-NULL
    # map values without it: the path unlocking the other element (r8 = r7) was pruned against
    # the one unlocking the element it locked, leaving a lock held (Linux 6.5 compares it).
    "pruning: a map value's id names its lock": """
; expect: E505 at 36
; prog_type: sched_cls
; map: 0 array 4 8 2 0 spin_lock=0
r9 = map[fd:0]
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = r9
call bpf_map_lookup_elem
if r0 == 0 goto +29
r6 = r0
*(u32 *)(r10 - 4) = 1
r2 = r10
r2 += -4
r1 = r9
call bpf_map_lookup_elem
if r0 == 0 goto +22
r7 = r0
call bpf_get_prandom_u32
if r0 > 5 goto +14
r8 = r6
if r0 > 2 goto +0
if r0 > 2 goto +0
if r0 > 2 goto +0
if r0 > 2 goto +0
r0 = 0
r0 = 0
r0 = 0
r0 = 0
r0 = 0
r0 = 0
r0 = 0
r0 = 0
goto +1
r8 = r7
r1 = r6
call bpf_spin_lock
r1 = r8
call bpf_spin_unlock
r0 = 0
exit
""",
    # ... and the lock held was compared by its raw id, outside the id map: with the locked r6
    # dead, r8 = r6 (id 1, lock 1) covered r8 = r7 (id 2, lock 1).
    "pruning: the held lock's id maps as the registers' do": """
; expect: E505 at 36
; prog_type: sched_cls
; map: 0 array 4 8 2 0 spin_lock=0
r9 = map[fd:0]
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = r9
call bpf_map_lookup_elem
if r0 == 0 goto +29
r6 = r0
*(u32 *)(r10 - 4) = 1
r2 = r10
r2 += -4
r1 = r9
call bpf_map_lookup_elem
if r0 == 0 goto +22
r7 = r0
r1 = r6
call bpf_spin_lock
r0 = *(u32 *)(r7 + 4)
if r0 > 5 goto +14
r8 = r6
if r0 > 2 goto +0
if r0 > 2 goto +0
if r0 > 2 goto +0
if r0 > 2 goto +0
r0 = 0
r0 = 0
r0 = 0
r0 = 0
r0 = 0
r0 = 0
r0 = 0
r0 = 0
goto +1
r8 = r7
r1 = r8
call bpf_spin_unlock
r0 = 0
exit
""",
    # A devmap's (or devmap_hash's) lookup returns a pointer straight into the kernel's entry
    # (its ifindex and program), so the kernel creates every devmap with BPF_F_RDONLY_PROG
    # (dev_map_init_map) and the verifier forbids stores; a map line without the flag was taken
    # as a writable value.
    "a devmap value is read-only for the program": """
; expect: E308 at 8
; prog_type: xdp
; map: 3 devmap 4 4 1
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map[fd:0]
call bpf_map_lookup_elem
if r0 == 0 goto +2
r1 = 1
*(u32 *)(r0 + 0) = r1
r0 = 0
exit
""",
    # A lookup in a map of maps returns the inner map (CONST_PTR_TO_MAP after the NULL check);
    # with no inner map known it became a writable value of the outer map's value_size, so the
    # program could overwrite the kernel's pointer to the inner map.
    "a map of maps with no inner map known is not a map of values": """
; expect: E299 at 5
; prog_type: xdp
; map: 3 array_of_maps 4 4 1
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map[fd:0]
call bpf_map_lookup_elem
if r0 == 0 goto +2
r1 = 1
*(u32 *)(r0 + 0) = r1
r0 = 0
exit
""",
    # A reference acquired in a callback was recorded as the main program's (callback frame 0),
    # so the callback's exit skipped it and the callee's references are not handed back: the
    # socket stayed referenced forever (Linux 6.1 tags it with the callback's frame and reports
    # it at the callback's exit).
    "a reference acquired in a callback must be released there": """
; expect: E503 at 25
; prog_type: sched_cls
; func_info: true
*(u64 *)(r10 - 8) = r1
r1 = 3
r2 = func[pc+7]
r3 = r10
r3 += -8
r4 = 0
call bpf_loop
r0 = 0
exit
r1 = *(u64 *)(r2 + 0)
*(u64 *)(r10 - 8) = 0
*(u64 *)(r10 - 16) = 0
*(u64 *)(r10 - 24) = 0
*(u64 *)(r10 - 32) = 0
*(u64 *)(r10 - 40) = 0
r2 = r10
r2 += -40
r3 = 36
r4 = 0
r5 = 0
call bpf_sk_lookup_tcp
if r0 == 0 goto +1
*(u64 *)(r10 - 48) = r0
r0 = 0
exit
""",
    # ... and one acquired by a function the callback calls comes back to the callback with it
    # (Linux 6.1 tags it 0 there and accepts the leak): the innermost callback must release it.
    "a reference acquired in a function a callback calls must be released by the callback": """
; expect: E503 at 19
; prog_type: sched_cls
; func_info: true
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = 0
r1 = 3
r2 = func[pc+7]
r3 = r10
r3 += -8
r4 = 0
call bpf_loop
r0 = 0
exit
r6 = r2
r1 = *(u64 *)(r2 + 0)
call pc+6
r1 = 1
*(u64 *)(r6 - 8) = r1
if r0 == 0 goto +1
*(u64 *)(r10 - 48) = r0
r0 = 0
exit
*(u64 *)(r10 - 8) = 0
*(u64 *)(r10 - 16) = 0
*(u64 *)(r10 - 24) = 0
*(u64 *)(r10 - 32) = 0
*(u64 *)(r10 - 40) = 0
r2 = r10
r2 += -40
r3 = 36
r4 = 0
r5 = 0
call bpf_sk_lookup_tcp
exit
""",
    # A callback could release a reference its caller owns (a socket it found through the
    # caller's stack): the callback may run twice or not at all, and its references are not
    # handed back. Linux 6.1's release_reference_state refuses it ("Cannot release caller
    # references in callbacks").
    "a callback must not release its caller's reference": """
; expect: E504 at 23
; prog_type: sched_cls
; func_info: true
*(u64 *)(r10 - 8) = 0
*(u64 *)(r10 - 16) = 0
*(u64 *)(r10 - 24) = 0
*(u64 *)(r10 - 32) = 0
*(u64 *)(r10 - 40) = 0
r2 = r10
r2 += -40
r3 = 36
r4 = 0
r5 = 0
call bpf_sk_lookup_tcp
if r0 == 0 goto +8
*(u64 *)(r10 - 48) = r0
r1 = 2
r2 = func[pc+7]
r3 = r10
r3 += -48
r4 = 0
call bpf_loop
r0 = 0
exit
r1 = *(u64 *)(r2 + 0)
call bpf_sk_release
r0 = 0
exit
""",
    # A struct_ops map was used like a hash: its lookup returns ERR_PTR(-EINVAL), neither NULL
    # nor a value, so the NULL check passed and the store went to a bad address. Linux 6.1's
    # check_map_prog_compatibility refuses the map in any program.
    "a struct_ops map cannot be used in a program": """
; expect: E313 at 3
; prog_type: xdp
; map: 3 struct_ops 4 64 1
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map[fd:0]
call bpf_map_lookup_elem
if r0 == 0 goto +2
r1 = 1
*(u32 *)(r0 + 0) = r1
r0 = 0
exit
""",
    # ... as was a map type Linux 6.1 does not have (no such map can be created).
    "a map of a type Linux 6.1 cannot create is not used": """
; expect: E313 at 3
; prog_type: xdp
; map: 3 type_40 4 64 1
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map[fd:0]
call bpf_map_lookup_elem
if r0 == 0 goto +2
r1 = 1
*(u32 *)(r0 + 0) = r1
r0 = 0
exit
""",
    # bpf_for_each_map_elem took any map, its callback getting a writable value of value_size;
    # only arrays and hashes have map_for_each_callback (an lpm_trie has none: the kernel
    # would call a NULL function), and Linux 6.1 refuses the others.
    "for_each_map_elem only walks the maps that implement it": """
; expect: E309 at 6
; prog_type: sched_cls
; func_info: true
; map: 0 lpm_trie 8 8 2
r1 = map[fd:0]
r2 = func[pc+6]
r3 = 0
r4 = 0
call bpf_for_each_map_elem
r0 = 0
exit
r1 = 1
*(u64 *)(r3 + 0) = r1
r0 = 0
exit
""",
    # The element bpf_for_each_map_elem passes its callback (R3) had id 0, and a held lock is
    # the id of the value locked, so locking it held nothing: a second bpf_spin_lock of the same
    # element (a deadlock) was accepted, as was calling helpers or exiting with it held.
    "the element a for_each_map_elem callback gets names its lock": """
; expect: E505 at 16
; prog_type: sched_cls
; func_info: true
; map: 1 array 4 8 2 0 spin_lock=0
*(u64 *)(r10 - 8) = 0
r1 = map[fd:0]
r2 = func[pc+7]
r3 = r10
r3 += -8
r4 = 0
call bpf_for_each_map_elem
r0 = 0
exit
r6 = r3
r7 = r4
r1 = r3
call bpf_spin_lock
r1 = r6
call bpf_spin_lock
r1 = 1
*(u64 *)(r7 + 0) = r1
r0 = 0
exit
""",
    # The relevance analysis took a store through R1 as overwriting fp-16 because R1 may point
    # there, though on the other path R1 is a map value and the slot keeps what it held: fp-16
    # was irrelevant at the join, so the path that left a scalar there was pruned against the
    # one that left a pointer, and the fill was dereferenced.
    "relevance: a store kills a stack slot only where it surely writes it": """
; expect: E301 at 25
; fault: 25
; map: 3 array 4 16 1
*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map[fd:0]
call bpf_map_lookup_elem
if r0 == 0 goto +19
r7 = r0
call bpf_get_prandom_u32
if r0 > 5 goto +2
*(u64 *)(r10 - 16) = r7
goto +2
r2 = 12345
*(u64 *)(r10 - 16) = r2
if r0 > 2 goto +0
if r0 > 2 goto +0
if r0 > 2 goto +0
r1 = r7
call bpf_get_prandom_u32
r1 = r7
if r0 > 5 goto +2
r1 = r10
r1 += -16
*(u64 *)(r1 + 0) = r7
r3 = *(u64 *)(r10 - 16)
r0 = *(u64 *)(r3 + 0)
r0 = 0
exit
""",
    # An LD_ABS that fails leaves its function at once with R0 = 0 (a hidden exit); in a bpf_loop
    # callback that is a return to the helper, which calls the callback again. The hidden exit
    # returned to the caller but skipped the callback's re-entry, so the second call, starting
    # from fp-8 = 1000 as the first call left it, was never walked (insn 23 reads through it).
    "ld_abs in a callback: its hidden exit also enters the callback again": """
; expect: E301 at 23
; prog_type: sched_cls
; func_info: true
*(u64 *)(r10 - 16) = r1
r1 = 0
*(u64 *)(r10 - 8) = r1
r1 = 2
r2 = func[pc+7]
r3 = r10
r3 += -16
r4 = 0
call bpf_loop
r0 = 0
exit
r7 = r2
r6 = *(u64 *)(r7 + 0)
r1 = *(u64 *)(r7 + 8)
if r1 != 0 goto +7
r1 = 1000
*(u64 *)(r7 + 8) = r1
r0 = *(u8 *)skb[1000]
r1 = 0
*(u64 *)(r7 + 8) = r1
r0 = 0
exit
r0 = *(u8 *)(r1 + 0)
r0 = 0
exit
""",
    # Relevance skipped a stack slot whose content no later decision reads as a scalar, but a
    # fill of it still hands over its type: the path that spilled a pointer there (and later
    # spills the fill in 4 bytes, which Linux rejects) was pruned against the spilled scalar.
    "relevance: a skipped stack slot still holds a pointer or a scalar": """
; expect: E204 at 18
r6 = r1
call bpf_get_prandom_u32
if r0 > 5 goto +13
*(u64 *)(r10 - 8) = r0
r7 = 0
goto +0
r7 += 1
r7 += 1
r7 += 1
r7 += 1
r7 += 1
r7 += 1
r7 += 1
r7 += 1
r7 = 0
goto +1
*(u64 *)(r10 - 8) = r6
r2 = *(u64 *)(r10 - 8)
*(u32 *)(r10 - 16) = r2
r0 = 0
exit
""",
    # A packet pointer compared beyond pkt_end keeps that mark (a negative range) through
    # `r4 += -8`, as Linux 6.1's copy of the range does: the comparison of the pointer moved back
    # was decided (taken), so the fall-through that reads 8 bytes of a short packet never ran.
    "a packet pointer moved back is no longer beyond pkt_end": """
; expect: E402 at 9
; fault: 9
; prog_type: xdp
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 8
if r4 > r3 goto +2
r0 = 0
exit
r4 += -8
if r4 > r3 goto +2
r0 = *(u64 *)(r4 + 0)
exit
r0 = 1
exit
""",
    "a packet pointer moved back by a variable is no longer at pkt_end": """
; expect: E402 at 11
; prog_type: sched_cls
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 8
if r4 >= r3 goto +2
r0 = 0
exit
r5 = *(u32 *)(r1 + 0)
r5 &= 8
r4 -= r5
if r4 >= r3 goto +2
r0 = *(u64 *)(r2 + 0)
exit
r0 = 1
exit
""",
    # bpf_ringbuf_reserve's constant size is kept by Linux 6.1 in an int and then in R0's u32
    # mem_size, so a size of 2**32 + 16 gives 16 bytes of memory; the whole 64-bit value allowed
    # a store at offset 64, which Linux rejects.
    "ringbuf_reserve's size is the low 32 bits of the constant": """
; expect: E401 at 8
; prog_type: kprobe
; map: 0 ringbuf 0 0 4096
r1 = map[fd:0]
r2 = 0x100000010 ll
r3 = 0
call bpf_ringbuf_reserve
if r0 == 0 goto +5
r1 = 7
*(u64 *)(r0 + 64) = r1
r1 = r0
r2 = 0
call bpf_ringbuf_discard
r0 = 0
exit
""",
    # A tail call made in a subprogram returns, when it succeeds, into the subprogram's caller
    # after the target program ran (x86-64 JIT): the target may have changed the packet, so the
    # caller's packet pointers are void after the call (Linux 6.1 kept them; 6.13 fixed it,
    # selftests verifier_sock.c invalidate_pkt_pointers_by_tail_call, __failure).
    "a tail call in a subprogram may change the packet": """
; expect: E301 at 7
; prog_type: sched_cls
; map: 12 prog_array 4 4 4
r6 = *(u32 *)(r1 + 76)
r2 = *(u32 *)(r1 + 80)
r3 = r6
r3 += 4
if r3 > r2 goto +5
call pc+6
r1 = 42
*(u32 *)(r6 + 0) = r1
r0 = 0
exit
r0 = 0
exit
r2 = map[fd:0]
r3 = 0
call bpf_tail_call
r0 = 0
exit
""",
    # ... and the caller then gets the target program's return value, a scalar, in R0: the
    # context pointer this subprogram returns on the failed path was trusted as a pointer.
    "a subprogram that tail-calls returns a scalar": """
; expect: E315 at 10
; prog_type: sched_cls
; map: 5 prog_array 4 4 4
call pc+3
r0 = *(u32 *)(r0 + 0)
r0 = 0
exit
r6 = r1
r2 = map[fd:0]
r3 = 0
call bpf_tail_call
r0 = r6
exit
""",
    # bpf_skb_is_valid_access allows __sk_buff's data and data_end only as 4-byte loads; for
    # sk_skb, cgroup_skb and lwt_* the packet pointer type was returned before that size check
    # ran, so a 2-byte load of data gave a "packet pointer" holding 16 bits of the address.
    "a narrow load of __sk_buff data is no packet pointer": """
; expect: E304 at 0
; fault: 5
; prog_type: sk_skb
r2 = *(u16 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r0 = r2
r0 += 8
if r0 > r3 goto +1
r0 = *(u8 *)(r2 + 0)
r0 = 0
exit
""",
}


def _unsafe_program(text: str):
    from kernel_lsp.ebpf.load.asmtext import parse_asm
    from tests.test_ebpf_structural import _bind_maps, _options, parse_expectations

    opts, expects = parse_expectations(text)
    program = parse_asm(text, "unsafe.s")
    assert not program.meta.get("errors"), program.meta["errors"]
    _bind_maps(opts, program)
    fault = re.search(r"^; fault: (\d+)$", text, re.M)
    return program, _options(opts, program), expects[None], fault and int(fault.group(1))


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_accepts_found_before_are_rejected(name):
    program, options, expected, fault_at = _unsafe_program(UNSAFE[name])
    found = verify(program, options)
    assert {(f.code, f.insn) for f in found if f.is_error} == expected, found
    if fault_at is not None:  # the interpreter shows why: some run of it faults there
        faults = {run(program, data, prog_type=options.prog_type, packet=True, budget=BUDGET,
                      seed=seed).fault
                  for data in (b"", bytes(range(64))) for seed in (1, 7, 12345)}
        assert fault_at in {f.insn for f in faults if f is not None and f.kind == "region"}

