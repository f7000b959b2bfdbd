"""The LSM hooks of Linux 6.1 (``include/linux/lsm_hook_defs.h``) and what a BPF program attached
to one may return.

A data table: the hook names by C return type, the hooks whose return value is a truth value
(Linux 6.12's ``bool_lsm_hooks``), and those BPF may not attach to at all because their callers
trust the returned value as a size, a pointer or a count (6.12's ``bpf_lsm_disabled_hooks``;
Linux 6.1 still allowed them, and took any return value of an LSM program). kernel-lsp applies
6.12's rules, which make a BPF LSM program's return value one its hook's callers handle.
"""

from __future__ import annotations

MAX_ERRNO = 4095

VOID_HOOKS = frozenset("""
    audit_rule_free bpf_map_free_security bpf_prog_free_security bprm_committed_creds
    bprm_committing_creds cred_free cred_getsecid cred_transfer current_getsecid_subj
    d_instantiate file_free_security file_set_fowner ib_free_security inet_conn_established
    inet_csk_clone inode_free_security inode_getsecid inode_invalidate_secctx
    inode_post_setxattr ipc_getsecid key_free msg_msg_free_security msg_queue_free_security
    perf_event_free release_secctx req_classify_flow sb_delete sb_free_mnt_opts sb_free_security
    sctp_sk_clone secmark_refcount_dec secmark_refcount_inc sem_free_security shm_free_security
    sk_clone_security sk_free_security sk_getsecid sock_graft task_free task_getsecid_obj
    task_to_inode tun_dev_free_security xfrm_policy_free_security xfrm_state_free_security
""".split())

INT_HOOKS = frozenset("""
    audit_rule_init audit_rule_known audit_rule_match binder_set_context_mgr binder_transaction
    binder_transfer_binder binder_transfer_file bpf bpf_map bpf_map_alloc_security bpf_prog
    bpf_prog_alloc_security bprm_check_security bprm_creds_for_exec bprm_creds_from_file capable
    capget capset cred_alloc_blank cred_prepare dentry_create_files_as dentry_init_security
    file_alloc_security file_fcntl file_ioctl file_ioctl_compat file_lock file_mprotect
    file_open file_permission file_receive file_send_sigiotask fs_context_dup
    fs_context_parse_param fs_context_submount getprocattr ib_alloc_security
    ib_endport_manage_subnet ib_pkey_access inet_conn_request inode_alloc_security inode_copy_up
    inode_copy_up_xattr inode_create inode_follow_link inode_getattr inode_getsecctx
    inode_getsecurity inode_getxattr inode_init_security inode_init_security_anon inode_killpriv
    inode_link inode_listsecurity inode_listxattr inode_mkdir inode_mknod inode_need_killpriv
    inode_notifysecctx inode_permission inode_readlink inode_removexattr inode_rename
    inode_rmdir inode_setattr inode_setsecctx inode_setsecurity inode_setxattr inode_symlink
    inode_unlink ipc_permission ismaclabel kernel_act_as kernel_create_files_as kernel_load_data
    kernel_module_request kernel_post_load_data kernel_post_read_file kernel_read_file
    kernfs_init_security key_alloc key_getsecurity key_permission locked_down mmap_addr
    mmap_file move_mount msg_msg_alloc_security msg_queue_alloc_security msg_queue_associate
    msg_queue_msgctl msg_queue_msgrcv msg_queue_msgsnd netlink_send path_chmod path_chown
    path_chroot path_link path_mkdir path_mknod path_notify path_rename path_rmdir path_symlink
    path_truncate path_unlink perf_event_alloc perf_event_open perf_event_read perf_event_write
    post_notification ptrace_access_check ptrace_traceme quota_on quotactl sb_alloc_security
    sb_clone_mnt_opts sb_eat_lsm_opts sb_kern_mount sb_mnt_opts_compat sb_mount sb_pivotroot
    sb_remount sb_set_mnt_opts sb_show_options sb_statfs sb_umount sctp_assoc_established
    sctp_assoc_request sctp_bind_connect secctx_to_secid secid_to_secctx secmark_relabel_packet
    sem_alloc_security sem_associate sem_semctl sem_semop setprocattr settime shm_alloc_security
    shm_associate shm_shmat shm_shmctl sk_alloc_security socket_accept socket_bind
    socket_connect socket_create socket_getpeername socket_getpeersec_dgram
    socket_getpeersec_stream socket_getsockname socket_getsockopt socket_listen
    socket_post_create socket_recvmsg socket_sendmsg socket_setsockopt socket_shutdown
    socket_sock_rcv_skb socket_socketpair syslog task_alloc task_fix_setgid task_fix_setgroups
    task_fix_setuid task_getioprio task_getpgid task_getscheduler task_getsid task_kill
    task_movememory task_prctl task_prlimit task_setioprio task_setnice task_setpgid
    task_setrlimit task_setscheduler tun_dev_alloc_security tun_dev_attach tun_dev_attach_queue
    tun_dev_create tun_dev_open unix_may_send unix_stream_connect uring_cmd uring_override_creds
    uring_sqpoll userns_create vm_enough_memory watch_key xfrm_decode_session
    xfrm_policy_alloc_security xfrm_policy_clone_security xfrm_policy_delete_security
    xfrm_policy_lookup xfrm_state_alloc xfrm_state_alloc_acquire xfrm_state_delete_security
    xfrm_state_pol_flow_match
""".split())

BOOL_HOOKS = frozenset({"audit_rule_known", "xfrm_state_pol_flow_match"})

DISABLED_HOOKS = frozenset({
    "vm_enough_memory", "inode_need_killpriv", "inode_getsecurity", "inode_listsecurity",
    "inode_copy_up_xattr", "getprocattr", "setprocattr", "key_getsecurity", "audit_rule_match",
    "xfrm_decode_session", "ismaclabel",
})


def hook_of_section(section: str | None) -> str | None:
    """``file_open`` of ``lsm/file_open``, ``lsm.s/file_open`` or ``lsm_cgroup/file_open``."""
    if not section or "/" not in section:
        return None
    return section.split("/", 1)[1] or None


def refusal(hook: str | None) -> tuple[str, str] | None:
    """Why an LSM program attached to ``hook`` is not checked (``E299``: its return type is not
    known) or not loaded (``E404``: a disabled hook), as a code and a message; else ``None``."""
    if hook is None:
        return ("E299", "the LSM hook the program attaches to is not known (no lsm/<hook> "
                        "section), so neither is the range of its return value")
    if hook not in VOID_HOOKS and hook not in INT_HOOKS:
        return ("E299", f"'{hook}' is no LSM hook of Linux 6.1, so the range of its return value "
                        "is not known")
    if hook in DISABLED_HOOKS:
        return ("E404", f"attach_btf_id points to disabled hook {hook}: its callers trust the "
                        "returned value (a size, a pointer or a count), which BPF cannot give")
    return None


def return_range(hook: str, cgroup: bool) -> tuple[int, int] | None:
    """The signed 32-bit range R0 must be in at the exit of an LSM program attached to the
    known ``hook`` (``lsm_cgroup`` when ``cgroup``: allow or deny); ``None``: any value."""
    if cgroup:
        return (1, 1) if hook in VOID_HOOKS else (0, 1)
    if hook in VOID_HOOKS:
        return None
    return (0, 1) if hook in BOOL_HOOKS else (-MAX_ERRNO, 0)
