using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Osiris.McpServer.Checkpoints;
using Osiris.McpServer.Sandbox;
using Osiris.McpServer.Workspaces;

namespace Osiris.Benchmarks;

/// <summary>
/// Workspace checkpoints as the MCP server takes them (its <see cref="CheckpointStore"/>, in process, on this machine's
/// disk): a workspace of <c>--files</c> files (5,000: text in nested folders, one in fifty binary, some executable, a few
/// links), then — each repeated <c>--runs</c> times (5) — the first checkpoint into an empty store (every file read and
/// stored), a checkpoint after nothing changed (what a command that wrote nothing costs), one after 10 files changed,
/// the diff of the first against that, a restore of the whole workspace, and a fork into a new task. Also the store's
/// size against the workspace's. The files were just written, so they are in the page cache: a warm-cache figure.
/// </summary>
public static class CheckpointBenchmark
{
    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var files = (int)options.Number("files", 5_000);
        var runs = (int)options.Number("runs", 5);
        Console.WriteLine($"OSIRIS checkpoint benchmark: {files:N0} files, {runs} runs each, store and workspaces on {Path.GetTempPath()}");

        var timings = new Dictionary<string, List<double>>();
        void Time(string step, Action action)
        {
            var clock = Stopwatch.StartNew();
            action();
            (timings.TryGetValue(step, out var list) ? list : timings[step] = []).Add(clock.Elapsed.TotalMilliseconds);
        }

        long workspaceBytes = 0, storeBytes = 0;
        for (var run = 0; run < runs; run++)
        {
            var root = Directory.CreateTempSubdirectory("osiris-bench-checkpoints-").FullName;
            try
            {
                var store = CreateStore(Path.Combine(root, "workspaces"));
                var task = Guid.NewGuid();
                var workspace = Path.Combine(root, "workspaces", task.ToString("D"));
                workspaceBytes = Fill(workspace, files, seed: run);

                StoredCheckpoint? first = null, changed = null;
                Time("first checkpoint (all files stored)", () => first = store.TakeAsync(task, "run_command", 1, "c1").GetAwaiter().GetResult());
                Time("nothing changed (no checkpoint)", () => Check(store.TakeAsync(task, "run_command", 2, "c2").GetAwaiter().GetResult() is null));
                Touch(workspace, 10, run);
                Time("10 files changed", () => changed = store.TakeAsync(task, "run_command", 3, "c3").GetAwaiter().GetResult());
                Time("diff first → changed", () => Check(store.Diff(first!, changed!).Files.Count == 10));
                Time("restore the whole workspace", () => store.RestoreAsync(task, first!, "bench", CancellationToken.None).GetAwaiter().GetResult());
                Time("fork into a new task", () => store.ForkAsync(task, changed!, Guid.NewGuid(), CancellationToken.None).GetAwaiter().GetResult());
                storeBytes = Size(Path.Combine(root, "workspaces", ".checkpoints"));
            }
            finally
            {
                Directory.Delete(root, recursive: true);
            }
        }

        Console.WriteLine($"workspace {files:N0} files, {workspaceBytes / 1048576.0:0.0} MiB; store after 3 checkpoints, a restore and a fork: {storeBytes / 1048576.0:0.0} MiB");
        Console.WriteLine($"{"step",-40} {"p50 ms",8} {"min ms",8} {"max ms",8}");
        foreach (var (step, values) in timings)
        {
            values.Sort();
            Console.WriteLine($"{step,-40} {values[values.Count / 2],8:0.0} {values[0],8:0.0} {values[^1],8:0.0}");
        }
        await Task.CompletedTask;
        return 0;
    }

    private static void Check(bool condition)
    {
        if (!condition)
        {
            throw new InvalidOperationException("The checkpoint store did not behave as the benchmark expects.");
        }
    }

    private static CheckpointStore CreateStore(string workspaces)
    {
        var workspaceOptions = Options.Create(new WorkspaceOptions { Root = workspaces });
        var sandbox = Options.Create(new SandboxOptions());
        var provisioner = new WorkspaceProvisioner(workspaceOptions, sandbox, NullLogger<WorkspaceProvisioner>.Instance);
        return new CheckpointStore(Options.Create(new CheckpointOptions()), workspaceOptions, sandbox, provisioner, TimeProvider.System,
            NullLogger<CheckpointStore>.Instance);
    }

    /// <summary>Text files of 0.5–4 KiB in 3-level folders; every 50th a 64 KiB binary; every 20th executable; every 500th gets a link.</summary>
    private static long Fill(string workspace, int files, int seed)
    {
        var random = new Random(seed);
        long bytes = 0;
        for (var i = 0; i < files; i++)
        {
            var folder = Path.Combine(workspace, $"src{i % 10}", $"mod{i / 10 % 10}", $"part{i / 100 % 5}");
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, i % 50 == 0 ? $"data{i}.bin" : $"file{i}.txt");
            byte[] content;
            if (i % 50 == 0)
            {
                content = new byte[64 * 1024];
                random.NextBytes(content);
            }
            else
            {
                content = System.Text.Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(0, random.Next(16, 128)).Select(l => $"line {l} of file {i}: {random.Next()}")));
            }
            File.WriteAllBytes(path, content);
            bytes += content.Length;
            if (i % 20 == 0 && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
            }
            if (i % 500 == 0)
            {
                File.CreateSymbolicLink(Path.Combine(folder, $"link{i}"), Path.GetFileName(path));
            }
        }
        return bytes;
    }

    private static void Touch(string workspace, int count, int seed)
    {
        var targets = Directory.EnumerateFiles(workspace, "*.txt", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Take(count);
        foreach (var path in targets)
        {
            File.AppendAllText(path, $"\nchanged in run {seed}\n");
        }
    }

    private static long Size(string folder) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;
}
