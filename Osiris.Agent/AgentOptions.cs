using System.ComponentModel.DataAnnotations;
using Osiris.Shared.Contracts;

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

    /// <summary>Longest silence allowed between two chunks of a model's answer (a thinking model may be quiet long).</summary>
    [Range(1, 3600)]
    public int ModelIdleTimeoutSeconds { get; set; } = 120;

    /// <summary>Longest a whole model turn may take, first chunk to last.</summary>
    [Range(1, 7200)]
    public int ModelTurnTimeoutSeconds { get; set; } = 600;

    /// <summary>Attempts of one model turn after a transient failure (429, 5xx, a cut stream, a timeout).</summary>
    [Range(0, 20)]
    public int ModelRetries { get; set; } = 4;

    /// <summary>Characters of one tool result the model sees; the rest is cut out of the middle, with a note.</summary>
    [Range(1000, 1_000_000)]
    public int MaxToolOutputChars { get; set; } = 16_000;

    /// <summary>Overrides the model's context window from the price table (0: use the table's).</summary>
    [Range(0, 10_000_000)]
    public long ContextWindowTokens { get; set; }

    /// <summary>The same failing tool call (name and arguments) this many times in a row stops the task.</summary>
    [Range(2, 100)]
    public int RepeatedFailureLimit { get; set; } = 3;

    /// <summary>US dollars per million tokens and context windows, by model name (defaults: <see cref="ModelPrices"/>).</summary>
    public Dictionary<string, ModelPrice> Prices { get; set; } = ModelPrices.Defaults();

    /// <summary>The call's cost, or null when the model has no price (never 0 USD by omission).</summary>
    public decimal? Cost(string? model, long input, long cachedInput, long output) =>
        model is not null && Prices.TryGetValue(model, out var price) ? price.Cost(input, cachedInput, output) : null;

    public long ContextWindowFor(string? model) =>
        ContextWindowTokens > 0 ? ContextWindowTokens
        : model is not null && Prices.TryGetValue(model, out var price) ? price.ContextWindowTokens
        : 128_000;
}
