using Osiris.McpServer.Sandbox;

namespace Osiris.Tests.Security;

/// <summary>
/// The cgroup writer against temporary folders laid out like a cgroup v2 and a v1 tree. Only v1 exists on this
/// machine and on CI, so the v2 writer is checked here for what it writes, not on a real v2 kernel.
/// </summary>
[Trait("Category", "Unit")]
public sealed class CgroupWriterTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("osiris-cgroup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private SandboxOptions Options => new() { CgroupRoot = _root, MaxProcesses = 64, MaxMemoryBytes = 512L * 1024 * 1024, MaxCpuCores = 0.5 };

    [Fact]
    public void OnV2EachCommandGetsAGroupWithPidsMemoryAndCpuUnderAParentThatEnablesThem()
    {
        File.WriteAllText(Path.Combine(_root, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n");
        File.WriteAllText(Path.Combine(_root, "cgroup.subtree_control"), "");
        Directory.CreateDirectory(Path.Combine(_root, "osiris-mcp"));
        File.WriteAllText(Path.Combine(_root, "osiris-mcp", "cgroup.controllers"), "cpu memory pids\n");

        using var limits = CgroupLimits.TryCreate(Options, out var problem);
        Assert.Null(problem);
        Assert.True(limits!.IsV2);
        var group = Path.GetDirectoryName(Assert.Single(limits.ProcsFiles))!;
        Assert.Equal(Path.Combine(_root, "osiris-mcp"), Path.GetDirectoryName(group));
        Assert.Equal("64", File.ReadAllText(Path.Combine(group, "pids.max")));
        Assert.Equal((512L * 1024 * 1024).ToString(), File.ReadAllText(Path.Combine(group, "memory.max")));
        Assert.Equal("0", File.ReadAllText(Path.Combine(group, "memory.swap.max")));
        Assert.Equal("50000 100000", File.ReadAllText(Path.Combine(group, "cpu.max")));
        Assert.Equal("+pids +memory +cpu", File.ReadAllText(Path.Combine(_root, "cgroup.subtree_control")));
        Assert.Equal("+pids +memory +cpu", File.ReadAllText(Path.Combine(_root, "osiris-mcp", "cgroup.subtree_control")));
    }

    [Fact]
    public void OnV2WithoutTheCpuControllerThereAreNoLimitsAndTheReasonSaysSo()
    {
        File.WriteAllText(Path.Combine(_root, "cgroup.controllers"), "memory pids\n");
        File.WriteAllText(Path.Combine(_root, "cgroup.subtree_control"), "");
        Assert.Null(CgroupLimits.TryCreate(Options, out var problem));
        Assert.Contains("cgroup v2", problem);
        Assert.Contains("cpu", problem);
    }

    [Fact]
    public void OnV1EachControllerGetsItsOwnGroup()
    {
        foreach (var controller in new[] { "pids", "memory", "cpu" })
        {
            Directory.CreateDirectory(Path.Combine(_root, controller));
        }
        using var limits = CgroupLimits.TryCreate(Options, out var problem);
        Assert.Null(problem);
        Assert.False(limits!.IsV2);
        Assert.Equal(3, limits.ProcsFiles.Count);
        var cpu = Path.GetDirectoryName(limits.ProcsFiles.Single(p => p.Contains("/cpu/")))!;
        Assert.Equal("50000", File.ReadAllText(Path.Combine(cpu, "cpu.cfs_quota_us")));
        Assert.Equal("100000", File.ReadAllText(Path.Combine(cpu, "cpu.cfs_period_us")));
        var memory = Path.GetDirectoryName(limits.ProcsFiles.Single(p => p.Contains("/memory/")))!;
        Assert.Equal((512L * 1024 * 1024).ToString(), File.ReadAllText(Path.Combine(memory, "memory.limit_in_bytes")));
    }
}
