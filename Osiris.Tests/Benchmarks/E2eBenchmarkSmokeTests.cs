using Osiris.Tests.Fixtures;
using Osiris.Tests.Web;

namespace Osiris.Tests.Benchmarks;

/// <summary>
/// CI keeps the end-to-end benchmark working without timing anything: its entry point runs for 5 seconds (one
/// dashboard, one agent task) and every figure row must be printed with a number in it. The figures themselves
/// belong to the benchmark's own runs, on a quiet machine, not to a test.
/// </summary>
public sealed class E2eBenchmarkSmokeTests
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
        var mode = OptionalSoftware.HasRedisAndPostgres ? "local" : "embedded";
        var text = await BenchmarkRun.RunAsync(["e2e", "--mode", mode, "--seconds", "5", "--warmup", "0", "--pages", "1", "--tasks", "1", "--rate", "2"],
            TimeSpan.FromMinutes(5));
        BenchmarkRun.AssertRows(text, Rows);
    }
}
