using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Benchmarks;

/// <summary>The auth benchmark's entry point, briefly (20 requests per credential): every figure row printed, nothing timed.</summary>
public sealed class AuthBenchmarkSmokeTests
{
    private static readonly string[] Rows =
    [
        "| cold | first sign-in after healthy (password) |",
        "| cold | first request with a session |",
        "| cold | first request with a personal token |",
        "| cold | first stream opened with a ticket (POST ticket + GET stream) |",
        "| GET /api/v1/me, api-key |",
        "| GET /api/v1/me, session |",
        "| GET /api/v1/me, personal token |",
        "| GET /api/v1/tasks?pageSize=20, api-key |",
        "| GET /api/v1/tasks?pageSize=20, session |",
        "| sign-in (password: PBKDF2) |",
        "| stream open, header |",
        "| stream open, ticket (POST ticket + GET stream) |",
    ];

    [Fact]
    public async Task TheAuthBenchmarkPrintsEveryFigureRow()
    {
        var mode = OptionalSoftware.HasRedisAndPostgres ? "local" : "embedded";
        var text = await BenchmarkRun.RunAsync(["auth", "--mode", mode, "--requests", "20"], TimeSpan.FromMinutes(4));
        BenchmarkRun.AssertRows(text, Rows);
    }
}
