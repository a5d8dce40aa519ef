using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Osiris.Tests.Fixtures;
using Osiris.Tests.Web;

namespace Osiris.Tests.Benchmarks;

/// <summary>
/// CI keeps the end-to-end benchmark working without timing anything: its entry point runs for 5 seconds (one
/// dashboard, one agent task) and every figure row must be printed with a number in it. The figures themselves
/// belong to the benchmark's own runs, on a quiet machine, not to a test.
/// </summary>
public sealed partial class E2eBenchmarkSmokeTests
{
    private static readonly string[] Rows =
    [
        "| cold | app start → every service healthy |",
        "| cold | first event after healthy: POST /api/v1/tasks → task_created at an SSE client |",
        "| cold | first event: API publish → SSE frame |",
        "| cold | first webhook → task_created at an SSE client |",
        "| cold | first webhook acknowledgement |",
        "| cold | first webhook → visible on a dashboard opened after start |",
        "| dashboard 1: webhook → visible |",
        "| all dashboards: webhook → visible |",
        "| webhook acknowledgement |",
        "| API publish → SSE frame (all events, plain client) |",
        "| events per second at an SSE client |",
        "| request (acknowledgement, in the API) |",
        "| dispatch → web app applies it |",
        "| whole trace (request start → last span end) |",
        "| api |",
        "| web |",
        "| agent |",
        "| mcpserver |",
        "| chromium (all processes) |",
    ];

    [Fact]
    public async Task TheEndToEndBenchmarkPrintsEveryFigureRow()
    {
        OptionalSoftware.Require(File.Exists(Chromium.ExecutablePath), "Chromium", "apt-get install -y chromium");
        var dll = Path.Combine(Repository.Root, "Osiris.Benchmarks", "bin", Repository.Configuration, "net10.0", "Osiris.Benchmarks.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built; building Osiris.sln builds it.");
        var mode = OptionalSoftware.HasRedisAndPostgres ? "local" : "embedded";
        var start = new ProcessStartInfo("dotnet", [dll, "e2e", "--mode", mode, "--seconds", "5", "--warmup", "0", "--pages", "1", "--tasks", "1", "--rate", "2"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("The e2e benchmark did not finish within 5 minutes. It printed:\n" + output);
        }

        var text = output.ToString();
        Assert.True(process.ExitCode == 0, $"The e2e benchmark exited with {process.ExitCode}. It printed:\n{text}");
        var lines = text.Split('\n');
        foreach (var row in Rows)
        {
            var line = lines.FirstOrDefault(l => l.StartsWith(row, StringComparison.Ordinal));
            Assert.True(line is not null, $"The row '{row}' is missing. The benchmark printed:\n{text}");
            Assert.True(Number().IsMatch(line[row.Length..]), $"The row '{line}' has no figure.");
        }
        TestContext.Current.TestOutputHelper?.WriteLine(text);
    }

    [GeneratedRegex(@"^ *[0-9]+(\.[0-9]+)?( ms| s| %)? *\|")]
    private static partial Regex Number();
}
