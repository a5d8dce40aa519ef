using System.ComponentModel.DataAnnotations;

namespace Osiris.Agent;

/// <summary><c>Agent</c>: how the worker takes tasks and what a task may spend.</summary>
public sealed class AgentOptions
{
    public const string Section = "Agent";

    /// <summary>False keeps this worker from taking tasks (tests of the API alone; maintenance).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Tasks this worker runs at once.</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 2;

    /// <summary>How long a claim lasts without renewal; a dead worker's task is taken up again after this.</summary>
    [Range(2, 3600)]
    public double LeaseSeconds { get; set; } = 30;

    /// <summary>Model turns per task (the plan counts as one).</summary>
    [Range(1, 500)]
    public int MaxSteps { get; set; } = 30;

    [Range(0, long.MaxValue)]
    public long MaxTokensPerTask { get; set; } = 400_000;

    [Range(0, 10_000)]
    public decimal MaxCostUsdPerTask { get; set; } = 2m;

    /// <summary>Text deltas of one message are published at most this often.</summary>
    [Range(1, 1000)]
    public int CoalesceMilliseconds { get; set; } = 30;

    /// <summary>Consecutive failed calls to a provider before the next configured one takes over (0: never).</summary>
    [Range(0, 100)]
    public int FallbackAfterFailures { get; set; } = 3;

    /// <summary>US dollars per million input and output tokens, by model name.</summary>
    public Dictionary<string, ModelPrice> Prices { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["gpt-4o"] = new() { InputPerMillion = 2.50m, OutputPerMillion = 10.00m },
        ["gpt-4o-mini"] = new() { InputPerMillion = 0.15m, OutputPerMillion = 0.60m },
        ["gemini-2.5-pro"] = new() { InputPerMillion = 1.25m, OutputPerMillion = 10.00m },
        ["gemini-2.5-flash"] = new() { InputPerMillion = 0.30m, OutputPerMillion = 2.50m },
    };

    public decimal Cost(string? model, long input, long output) =>
        model is not null && Prices.TryGetValue(model, out var price)
            ? (input * price.InputPerMillion + output * price.OutputPerMillion) / 1_000_000m
            : 0m;
}

public sealed class ModelPrice
{
    public decimal InputPerMillion { get; set; }
    public decimal OutputPerMillion { get; set; }
}
