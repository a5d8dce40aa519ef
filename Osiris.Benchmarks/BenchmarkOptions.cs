namespace Osiris.Benchmarks;

public sealed record BenchmarkOptions(string Scenario, string Mode, int Clients, double Rate, double Seconds)
{
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
            double.Parse(Value("seconds", "20"), System.Globalization.CultureInfo.InvariantCulture));
    }

    public static int Usage(string error)
    {
        Console.Error.WriteLine(error);
        Console.Error.WriteLine("usage: dotnet run -c Release --project Osiris.Benchmarks -- <delivery|webhook|mcp> [--mode local|embedded] [--clients N] [--rate R] [--seconds S]");
        return 2;
    }
}
