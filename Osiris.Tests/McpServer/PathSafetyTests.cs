using Osiris.Tests.Fixtures;

namespace Osiris.Tests.McpServer;

/// <summary>Every hostile path of issue 5, point 4, through the real tools over the real protocol.</summary>
public sealed class PathSafetyTests : IClassFixture<PathSafetyTests.Server>, IAsyncLifetime
{
    public sealed class Server() : McpServerHost;

    private readonly Server _server;
    private readonly Guid _task = Guid.NewGuid();
    private ModelContextProtocol.Client.McpClient _client = null!;
    private string _root = "";
    private string _outside = "";

    public PathSafetyTests(Server server) => _server = server;

    public async ValueTask InitializeAsync()
    {
        _client = await _server.ConnectAsync(_task, TestContext.Current.CancellationToken);
        await _client.CallAsync("list_dir", new { path = "." }); // the session creates its workspace
        _root = _server.WorkspaceOf(_task);
        _outside = Path.Combine(_server.Temp, "outside-" + _task.ToString("N"));
        Directory.CreateDirectory(_outside);
        File.WriteAllText(Path.Combine(_outside, "secret.txt"), "TOP SECRET");
        File.WriteAllText(Path.Combine(_root, "inside.txt"), "hello inside\n");
    }

    public async ValueTask DisposeAsync() => await _client.DisposeAsync();

    private string Secret => File.ReadAllText(Path.Combine(_outside, "secret.txt"));

    [Fact]
    public async Task ReadingAndWritingInsideTheWorkspaceWorks()
    {
        var read = await _client.CallAsync("read_file", new { path = "inside.txt" });
        read.AssertSucceeded();
        Assert.Contains("hello inside", read.Text());

        var write = await _client.CallAsync("write_file", new { path = "sub/dir/new.txt", content = "one\ntwo\n" });
        write.AssertSucceeded();
        Assert.Equal("one\ntwo\n", File.ReadAllText(Path.Combine(_root, "sub/dir/new.txt")));
        Assert.Equal(8, write.Structured().GetProperty("size").GetInt32());
    }

    [Fact]
    public async Task DotDotEscapesAreRefused()
    {
        var relative = Path.GetRelativePath(_root, Path.Combine(_outside, "secret.txt"));
        (await _client.CallAsync("read_file", new { path = relative })).AssertRefused("outside the workspace");
        (await _client.CallAsync("read_file", new { path = "sub/../../" + _task + "/../x" })).AssertRefused("outside the workspace");
        (await _client.CallAsync("write_file", new { path = relative, content = "owned" })).AssertRefused("outside the workspace");
        Assert.Equal("TOP SECRET", Secret);
    }

    [Fact]
    public async Task AbsolutePathsElsewhereAreRefusedButAbsolutePathsInsideWork()
    {
        (await _client.CallAsync("read_file", new { path = "/etc/passwd" })).AssertRefused("outside the workspace");
        (await _client.CallAsync("write_file", new { path = Path.Combine(_outside, "secret.txt"), content = "owned" })).AssertRefused("outside the workspace");
        (await _client.CallAsync("read_file", new { path = Path.Combine(_root, "inside.txt") })).AssertSucceeded();
        Assert.Equal("TOP SECRET", Secret);
    }

    [Fact]
    public async Task PrefixSiblingsOfTheRootAreRefused()
    {
        var sibling = _root + "-evil";
        Directory.CreateDirectory(sibling);
        File.WriteAllText(Path.Combine(sibling, "loot.txt"), "sibling secret");

        (await _client.CallAsync("read_file", new { path = Path.Combine(sibling, "loot.txt") })).AssertRefused("outside the workspace");
        (await _client.CallAsync("read_file", new { path = $"../{_task}-evil/loot.txt" })).AssertRefused("outside the workspace");
        (await _client.CallAsync("list_dir", new { path = sibling })).AssertRefused("outside the workspace");
    }

    [Fact]
    public async Task SymlinksThatPointOutAreRefused()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "link-out"), Path.Combine(_outside, "secret.txt"));
        File.CreateSymbolicLink(Path.Combine(_root, "link-etc"), "/etc/passwd");

        (await _client.CallAsync("read_file", new { path = "link-out" })).AssertRefused("points outside the workspace");
        (await _client.CallAsync("read_file", new { path = "link-etc" })).AssertRefused("points outside the workspace");
        (await _client.CallAsync("write_file", new { path = "link-out", content = "owned" })).AssertRefused("points outside the workspace");
        Assert.Equal("TOP SECRET", Secret);
    }

    [Fact]
    public async Task SymlinksThatStayInsideAreFollowed()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "alias.txt"), "inside.txt");
        var read = await _client.CallAsync("read_file", new { path = "alias.txt" });
        read.AssertSucceeded();
        Assert.Contains("hello inside", read.Text());
    }

    [Fact]
    public async Task SymlinkedParentFoldersThatPointOutAreRefused()
    {
        Directory.CreateSymbolicLink(Path.Combine(_root, "linkdir"), _outside);

        (await _client.CallAsync("read_file", new { path = "linkdir/secret.txt" })).AssertRefused("points outside the workspace");
        (await _client.CallAsync("write_file", new { path = "linkdir/planted.txt", content = "owned" })).AssertRefused("points outside the workspace");
        (await _client.CallAsync("list_dir", new { path = "linkdir" })).AssertRefused("points outside the workspace");
        Assert.False(File.Exists(Path.Combine(_outside, "planted.txt")));
    }

    [Fact]
    public async Task DanglingSymlinksWhoseTargetIsOutsideAreRefused()
    {
        var target = Path.Combine(_outside, "would-be-created.txt");
        File.CreateSymbolicLink(Path.Combine(_root, "dangling"), target);

        (await _client.CallAsync("write_file", new { path = "dangling", content = "owned" })).AssertRefused("points outside the workspace");
        (await _client.CallAsync("read_file", new { path = "dangling" })).AssertRefused("points outside the workspace");
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task NulBytesAreRefused()
    {
        (await _client.CallAsync("read_file", new { path = "inside.txt\0../../etc/passwd" })).AssertRefused("NUL byte");
        (await _client.CallAsync("write_file", new { path = "a\0b", content = "x" })).AssertRefused("NUL byte");
    }

    [Fact]
    public async Task FifosAreRefusedWithoutHanging()
    {
        var fifo = Path.Combine(_root, "pipe");
        Assert.Equal(0, Sh($"mkfifo '{fifo}'"));

        var started = DateTime.UtcNow;
        (await _client.CallAsync("read_file", new { path = "pipe" })).AssertRefused("FIFO");
        (await _client.CallAsync("write_file", new { path = "pipe", content = "x" })).AssertRefused("FIFO");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task DevicesAreRefused()
    {
        var device = Path.Combine(_root, "null-device");
        if (Sh($"mknod '{device}' c 1 3") != 0)
        {
            Assert.Skip("Creating a device node needs root (CAP_MKNOD); the check is the same as for FIFOs, which are tested without root.");
        }
        (await _client.CallAsync("read_file", new { path = "null-device" })).AssertRefused("character device");
        (await _client.CallAsync("write_file", new { path = "null-device", content = "x" })).AssertRefused("character device");
    }

    [Fact]
    public async Task ListingReportsSymlinksWithoutFollowingThem()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "to-secret"), Path.Combine(_outside, "secret.txt"));
        Directory.CreateDirectory(Path.Combine(_root, "folder"));
        File.WriteAllText(Path.Combine(_root, "folder", "deep.txt"), "12345");

        var list = await _client.CallAsync("list_dir", new { path = ".", depth = 2 });
        list.AssertSucceeded();
        var entries = list.Structured().GetProperty("entries").EnumerateArray()
            .ToDictionary(e => e.GetProperty("path").GetString()!, e => (Type: e.GetProperty("type").GetString(), Size: e.GetProperty("size").GetInt64()));
        Assert.Equal(("symlink", 0L), entries["to-secret"]);
        Assert.Equal(("directory", 0L), entries["folder"]);
        Assert.Equal(("file", 5L), entries["folder/deep.txt"]);
        Assert.DoesNotContain("TOP SECRET", list.Text());
    }

    [Fact]
    public async Task LargeFilesNeedALineRange()
    {
        var lines = Enumerable.Range(1, 40_000).Select(i => $"line {i}");
        File.WriteAllLines(Path.Combine(_root, "big.txt"), lines);

        (await _client.CallAsync("read_file", new { path = "big.txt" })).AssertRefused("read cap");
        var part = await _client.CallAsync("read_file", new { path = "big.txt", startLine = 1000, endLine = 1002 });
        part.AssertSucceeded();
        Assert.Equal("line 1000\nline 1001\nline 1002\n", part.Structured().GetProperty("text").GetString());
    }

    internal static int Sh(string command)
    {
        using var process = System.Diagnostics.Process.Start("/bin/sh", ["-c", command]);
        process.WaitForExit();
        return process.ExitCode;
    }
}
