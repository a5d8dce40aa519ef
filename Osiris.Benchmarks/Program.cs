using Osiris.Benchmarks;

// Usage: dotnet run -c Release --project Osiris.Benchmarks -- delivery [--mode local|embedded] [--clients 100] [--rate 100] [--seconds 20]
var options = BenchmarkOptions.Parse(args);
return options.Scenario switch
{
    "delivery" => await DeliveryBenchmark.RunAsync(options),
    _ => BenchmarkOptions.Usage($"Unknown scenario '{options.Scenario}'."),
};
