using System.Runtime.InteropServices;

namespace Osiris.McpServer.Sandbox;

/// <summary>
/// The seccomp filter bubblewrap loads for every command (<c>--seccomp FD</c>): everything is allowed except the
/// calls a hostile workload would use to look into or escape the sandbox (<see cref="Denied"/>), which fail with
/// EPERM. Built with libseccomp (Debian's <c>libseccomp2</c>) for the machine's own syscall interface and its 32-bit
/// ones (i386 and x32 on x86-64, arm on arm64), so a 32-bit program gets no way around it.
/// </summary>
public static partial class SeccompFilter
{
    public const string InstallHint = "apt-get install -y libseccomp2";

    /// <summary>The refused calls: tracing, other processes' memory, kernel objects, mounts, module and kernel loading.</summary>
    public static readonly string[] Denied =
    [
        "ptrace", "process_vm_readv", "process_vm_writev", "bpf", "keyctl", "add_key", "request_key",
        "mount", "umount", "umount2", "pivot_root", "kexec_load", "kexec_file_load", "perf_event_open", "userfaultfd",
        "init_module", "finit_module", "delete_module", "open_by_handle_at", "name_to_handle_at", "fsopen", "fsmount",
        "move_mount", "open_tree", "fsconfig", "fspick", "swapon", "swapoff", "reboot", "acct", "quotactl",
        "lookup_dcookie", "nfsservctl", "vm86", "vm86old", "uselib",
    ];

    private const uint ActAllow = 0x7fff0000;
    private const uint ActErrnoEperm = 0x00050000 | 1;

    // AUDIT_ARCH_* values, as libseccomp names them SCMP_ARCH_*.
    private const uint ArchX86 = 0x40000003, ArchX32 = 0x4000003e, ArchArm = 0x40000028;

    [LibraryImport("libseccomp.so.2", EntryPoint = "seccomp_init")]
    private static partial nint Init(uint defaultAction);

    [LibraryImport("libseccomp.so.2", EntryPoint = "seccomp_arch_add")]
    private static partial int ArchAdd(nint context, uint arch);

    [LibraryImport("libseccomp.so.2", EntryPoint = "seccomp_syscall_resolve_name", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ResolveName(string name);

    // seccomp_rule_add is variadic; the array form takes the same rule without variadic arguments.
    [LibraryImport("libseccomp.so.2", EntryPoint = "seccomp_rule_add_array")]
    private static partial int RuleAdd(nint context, uint action, int syscall, uint argumentCount, nint arguments);

    [LibraryImport("libseccomp.so.2", EntryPoint = "seccomp_export_bpf")]
    private static partial int ExportBpf(nint context, int fd);

    [LibraryImport("libseccomp.so.2", EntryPoint = "seccomp_release")]
    private static partial void Release(nint context);

    /// <summary>Writes the compiled filter to <paramref name="path"/>; the reason it could not, or null.</summary>
    public static string? TryWrite(string path)
    {
        nint context;
        try
        {
            context = Init(ActAllow);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return $"libseccomp is not installed ({InstallHint})";
        }
        if (context == 0)
        {
            return "seccomp_init failed";
        }
        try
        {
            foreach (var arch in RuntimeInformation.ProcessArchitecture switch
                     {
                         Architecture.X64 => new[] { ArchX86, ArchX32 },
                         Architecture.Arm64 => [ArchArm],
                         _ => [],
                     })
            {
                var added = ArchAdd(context, arch);
                if (added != 0 && added != -17) // -EEXIST: already the native one
                {
                    return $"seccomp_arch_add({arch:x}) failed with {added}";
                }
            }
            foreach (var name in Denied)
            {
                var number = ResolveName(name);
                if (number == -1 /* __NR_SCMP_ERROR: unknown to this libseccomp */)
                {
                    continue;
                }
                var rc = RuleAdd(context, ActErrnoEperm, number, 0, 0);
                if (rc != 0)
                {
                    return $"seccomp_rule_add({name}) failed with {rc}";
                }
            }
            using var file = File.Create(path);
            var exported = ExportBpf(context, (int)file.SafeFileHandle.DangerousGetHandle());
            return exported == 0 ? null : $"seccomp_export_bpf failed with {exported}";
        }
        finally
        {
            Release(context);
        }
    }
}
