namespace Osiris.Benchmarks;

public sealed record BenchmarkOptions(string Scenario, string Mode, int Clients, double Rate, double Seconds)
{
    private string[] _args = [];

    /// <summary>A numeric option with a scenario's own default (<c>--pages 3</c>).</summary>
    public double Number(string name, double fallback)
    {
        var index = Array.IndexOf(_args, "--" + name);
        return index >= 0 && index + 1 < _args.Length
            ? double.Parse(_args[index + 1], System.Globalization.CultureInfo.InvariantCulture)
            : fallback;
    }

    /// <summary>Whether a switch (<c>--floor</c>) was given.</summary>
    public bool Flag(string name) => _args.Contains("--" + name);

    public static BenchmarkOptions Parse(string[] args)
    {
        string Value(string name, string fallback)
        {
            var index = Array.IndexOf(args, "--" + name);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
        }

        var scenario = args.Length > 0 && !args[0].StartsWith("--") ? args[0] : "delivery";
        var defaultMode = File.Exists("/usr/bin/redis-server") ? "local" : "embedded";
        return new BenchmarkOptions(
            scenario,
            Value("mode", defaultMode),
            int.Parse(Value("clients", "100")),
            double.Parse(Value("rate", "100"), System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(Value("seconds", "20"), System.Globalization.CultureInfo.InvariantCulture)) { _args = args };
    }

    public static int Usage(string error)
    {
        Console.Error.WriteLine(error);
        Console.Error.WriteLine("usage: dotnet run -c Release --project Osiris.Benchmarks -- <delivery|webhook|mcp|e2e|replay|auth|knowledge|checkpoints|soak|web-store> [--mode local|embedded] [--clients N] [--rate R] [--seconds S]\n" +
            "  delivery: [--floor]; replay: [--events E] (default 100,000); mcp: [--warmup-seconds W] [--warmup N] [--rounds R]; e2e: [--pages K] [--tasks C] [--warmup W] (defaults K=3, C=5, R=2 webhooks/s, S=60, W=10); auth: [--requests N] (default 2,000, 8 callers); checkpoints: [--files N] [--runs R] (defaults 5,000 and 5); " +
            "soak: [--minutes M] [--clients N] [--dashboards D] [--webhooks W] [--senders S] [--concurrency C] [--api A] [--agents G] (defaults 10, 1,000, 20, 5/s, 50, 5, 2, 2), or --ramp [--step S] (10 s per rate); " +
            "web-store: [--tasks T] [--views V] [--messages M] (defaults 50,000, 300, 400)");
        return 2;
    }
}
