using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.McpServer;

/// <summary>Workspace checkpoints in the real MCP server: taken by tool calls, listed, diffed and restored over its HTTP endpoint.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CheckpointTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly McpServerHost _server = new();

    public void Dispose() => _server.Dispose();

    private static Task<CallToolResult> CallAsync(McpClient client, string tool, object arguments, int step, string callId) =>
        client.CallToolAsync(tool, JsonSerializer.SerializeToElement(arguments).EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value),
            null, new RequestOptions { Meta = new JsonObject { [CheckpointMeta.Step] = step, [CheckpointMeta.CallId] = callId } }, Ct).AsTask();

    private HttpClient Api(Guid task)
    {
        var http = _server.RawClient(_server.Token);
        http.DefaultRequestHeaders.Add("X-Osiris-Task", task.ToString());
        return http;
    }

    private async Task<List<CheckpointDto>> ListAsync(Guid task)
    {
        using var http = Api(task);
        return [.. (await http.GetFromJsonAsync<CheckpointList>($"/checkpoints/{task}/", OsirisJson.Options, Ct))!.Items];
    }

    private async Task<CheckpointDiff> DiffAsync(Guid task, string from, string? to = null)
    {
        using var http = Api(task);
        return (await http.GetFromJsonAsync<CheckpointDiff>($"/checkpoints/{task}/{from}/diff{(to is null ? "" : "?to=" + to)}", OsirisJson.Options, Ct))!;
    }

    [Fact]
    public async Task AWriteMakesAStartCheckpointAndOneTiedToItsCallAndADryRunMakesNone()
    {
        var task = Guid.NewGuid();
        await using var client = await _server.ConnectAsync(task, Ct);

        var preview = await CallAsync(client, "write_file", new { path = "a.txt", content = "one\n", dryRun = true }, 2, "call-0");
        preview.AssertSucceeded();
        Assert.Empty(await ListAsync(task));

        var written = await CallAsync(client, "write_file", new { path = "a.txt", content = "one\n" }, 2, "call-1");
        written.AssertSucceeded();
        var made = written.Meta![CheckpointMeta.Checkpoint]!;

        var checkpoints = await ListAsync(task);
        Assert.Equal(2, checkpoints.Count);
        Assert.Equal((null, "start", 0), (checkpoints[0].Tool, checkpoints[0].Note, checkpoints[0].Files));
        Assert.Equal(("write_file", 2, "call-1", 1, 1), (checkpoints[1].Tool, checkpoints[1].Step, checkpoints[1].CallId, checkpoints[1].Files, checkpoints[1].Changed));
        Assert.Equal(checkpoints[1].Id, made["id"]!.GetValue<string>());

        // The same content again changes nothing: no new checkpoint.
        var again = await CallAsync(client, "write_file", new { path = "a.txt", content = "one\n" }, 3, "call-2");
        again.AssertSucceeded();
        Assert.Null(again.Meta?[CheckpointMeta.Checkpoint]);
        Assert.Equal(2, (await ListAsync(task)).Count);
    }

    [Fact]
    public async Task ADiffShowsAddedChangedDeletedLinkAndModeChanges()
    {
        var task = Guid.NewGuid();
        await using var client = await _server.ConnectAsync(task, Ct);
        (await CallAsync(client, "write_file", new { path = "src/keep.txt", content = "alpha\nbeta\n" }, 2, "c1")).AssertSucceeded();
        (await CallAsync(client, "write_file", new { path = "gone.txt", content = "bye\n" }, 2, "c2")).AssertSucceeded();
        var before = (await ListAsync(task))[^1].Id;

        // What a command would do, done on disk: delete, chmod +x, a link, a binary file; then a write checkpoints it all.
        var root = _server.WorkspaceOf(task);
        File.Delete(Path.Combine(root, "gone.txt"));
        File.SetUnixFileMode(Path.Combine(root, "src/keep.txt"), (UnixFileMode)0b111_101_101);
        File.CreateSymbolicLink(Path.Combine(root, "passwd"), "/etc/passwd");
        await File.WriteAllBytesAsync(Path.Combine(root, "blob.bin"), [0, 1, 2, 0, 255], Ct);
        (await CallAsync(client, "write_file", new { path = "new.txt", content = "fresh\n" }, 3, "c3")).AssertSucceeded();

        var diff = await DiffAsync(task, before);
        var changes = diff.Files.ToDictionary(f => f.Path);
        Assert.Equal(["blob.bin", "gone.txt", "new.txt", "passwd", "src/keep.txt"], changes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(FileChanges.Deleted, changes["gone.txt"].Change);
        Assert.Contains("-bye", changes["gone.txt"].Diff);
        Assert.Equal(FileChanges.Added, changes["new.txt"].Change);
        Assert.Contains("+fresh", changes["new.txt"].Diff);
        Assert.Equal((FileChanges.Mode, false, true), (changes["src/keep.txt"].Change, changes["src/keep.txt"].ExecutableBefore, changes["src/keep.txt"].ExecutableAfter));
        // The link is a link, stored with its target as written: /etc/passwd was never read.
        Assert.Equal(("link", "/etc/passwd", (string?)null), (changes["passwd"].Kind, changes["passwd"].LinkAfter, changes["passwd"].Diff));
        Assert.True(changes["blob.bin"].Binary);
        Assert.Null(changes["blob.bin"].Diff);
    }

    [Fact]
    public async Task ARestoreBringsBackContentsDeletedFilesTheExecutableBitAndLinksAndCanBeUndone()
    {
        var task = Guid.NewGuid();
        var root = _server.WorkspaceOf(task);
        await using var client = await _server.ConnectAsync(task, Ct);
        (await CallAsync(client, "write_file", new { path = "run.sh", content = "echo one\n" }, 2, "c1")).AssertSucceeded();
        File.SetUnixFileMode(Path.Combine(root, "run.sh"), (UnixFileMode)0b111_101_101);
        File.CreateSymbolicLink(Path.Combine(root, "latest"), "run.sh");
        // Larger than what a snapshot reads into memory: streamed into the store instead.
        var large = new byte[5 * 1024 * 1024];
        Random.Shared.NextBytes(large);
        await File.WriteAllBytesAsync(Path.Combine(root, "data.bin"), large, Ct);
        (await CallAsync(client, "write_file", new { path = "docs/notes.md", content = "# Notes\n" }, 2, "c2")).AssertSucceeded();
        var good = (await ListAsync(task))[^1];

        // The agent breaks things: overwrites, deletes, turns the link into a file, adds an unwanted file.
        (await CallAsync(client, "write_file", new { path = "run.sh", content = "rm -rf everything\n" }, 3, "c3")).AssertSucceeded();
        File.Delete(Path.Combine(root, "docs/notes.md"));
        File.Delete(Path.Combine(root, "latest"));
        await File.WriteAllTextAsync(Path.Combine(root, "latest"), "not a link", Ct);
        await File.WriteAllBytesAsync(Path.Combine(root, "data.bin"), [1, 2, 3], Ct);
        (await CallAsync(client, "write_file", new { path = "junk.txt", content = "junk\n" }, 4, "c4")).AssertSucceeded();
        await File.WriteAllTextAsync(Path.Combine(root, "scratch.txt"), "not checkpointed yet", Ct);
        // A hostile move: the folder the restore must write into becomes a link to a folder outside the workspace.
        var outside = Directory.CreateTempSubdirectory("osiris-outside-").FullName;
        Directory.Delete(Path.Combine(root, "docs"), recursive: true);
        File.CreateSymbolicLink(Path.Combine(root, "docs"), outside);

        using var http = Api(task);
        using var response = await http.PostAsync($"/checkpoints/{task}/{good.Id}/restore?actor=ana", null, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var restore = (await response.Content.ReadFromJsonAsync<RestoreResult>(OsirisJson.Options, Ct))!;
        Assert.Equal(good.Id, restore.RestoredTo.Id);
        Assert.Equal($"restored to {good.Id} by ana", restore.Checkpoint.Note);

        Assert.Equal("echo one\n", await File.ReadAllTextAsync(Path.Combine(root, "run.sh"), Ct));
        Assert.True(File.GetUnixFileMode(Path.Combine(root, "run.sh")).HasFlag(UnixFileMode.UserExecute));
        Assert.Equal("# Notes\n", await File.ReadAllTextAsync(Path.Combine(root, "docs/notes.md"), Ct));
        Assert.Null(new DirectoryInfo(Path.Combine(root, "docs")).LinkTarget);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        Assert.Equal("run.sh", new FileInfo(Path.Combine(root, "latest")).LinkTarget);
        Assert.False(File.Exists(Path.Combine(root, "junk.txt")));
        Assert.Equal(large, await File.ReadAllBytesAsync(Path.Combine(root, "data.bin"), Ct));
        Assert.Empty((await DiffAsync(task, good.Id, restore.Checkpoint.Id)).Files);

        // The restore is itself a checkpoint, and the broken state before it is kept: restoring to it undoes the restore.
        var all = await ListAsync(task);
        var broken = all[^2];
        Assert.Equal("before restore", broken.Note);
        using var undo = await http.PostAsync($"/checkpoints/{task}/{broken.Id}/restore?actor=ana", null, Ct);
        Assert.Equal(HttpStatusCode.OK, undo.StatusCode);
        Assert.Equal("junk\n", await File.ReadAllTextAsync(Path.Combine(root, "junk.txt"), Ct));
        Assert.Equal("not a link", await File.ReadAllTextAsync(Path.Combine(root, "latest"), Ct));
        Assert.Equal("not checkpointed yet", await File.ReadAllTextAsync(Path.Combine(root, "scratch.txt"), Ct));
    }

    [Fact]
    public async Task ACommandThatChangesFilesMakesACheckpointAndARestoreWhileACommandRunsIs409()
    {
        OptionalSoftware.Require(File.Exists("/usr/bin/bwrap"), "bubblewrap", "apt-get install -y bubblewrap");
        var task = Guid.NewGuid();
        await using var client = await _server.ConnectAsync(task, Ct);
        var quiet = await CallAsync(client, "run_command", new { command = "ls" }, 2, "c1");
        Assert.Null(quiet.Meta?[CheckpointMeta.Checkpoint]);
        var made = await CallAsync(client, "run_command", new { command = "mkdir -p out && echo 42 > out/answer.txt && chmod +x out/answer.txt" }, 3, "c2");
        Assert.Equal(0, made.Structured().GetProperty("exitCode").GetInt32());
        var checkpoints = await ListAsync(task);
        Assert.Equal(("run_command", 3, "c2"), (checkpoints[^1].Tool, checkpoints[^1].Step, checkpoints[^1].CallId));
        var added = Assert.Single((await DiffAsync(task, checkpoints[0].Id, checkpoints[^1].Id)).Files);
        Assert.Equal(("out/answer.txt", FileChanges.Added, true), (added.Path, added.Change, added.ExecutableAfter));

        var running = CallAsync(client, "run_command", new { command = "sleep 4; echo late > late.txt" }, 4, "c3");
        using var http = Api(task);
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 50 && refused?.StatusCode != HttpStatusCode.Conflict; i++)
        {
            await Task.Delay(50, Ct);
            refused = await http.PostAsync($"/checkpoints/{task}/{checkpoints[0].Id}/restore", null, Ct);
        }
        Assert.Equal(HttpStatusCode.Conflict, refused!.StatusCode);
        var result = await running;
        Assert.Equal(0, result.Structured().GetProperty("exitCode").GetInt32());
        // Nothing was restored: the command's file and the earlier output are there.
        Assert.True(File.Exists(Path.Combine(_server.WorkspaceOf(task), "late.txt")));
        Assert.True(File.Exists(Path.Combine(_server.WorkspaceOf(task), "out/answer.txt")));
    }

    [Fact]
    public async Task TheCheckpointEndpointsNeedTheTokenAndNameTheirCheckpoints()
    {
        var task = Guid.NewGuid();
        using var anonymous = _server.RawClient();
        anonymous.DefaultRequestHeaders.Add("X-Osiris-Task", task.ToString());
        using var refused = await anonymous.GetAsync($"/checkpoints/{task}/", Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var http = Api(task);
        using var missing = await http.PostAsync($"/checkpoints/{task}/cp-9/restore", null, Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
