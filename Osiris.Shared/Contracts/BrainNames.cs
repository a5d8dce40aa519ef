namespace Osiris.Shared.Contracts;

/// <summary>The brains (model providers) and their default models: the one place these names are written.</summary>
public static class BrainNames
{
    public const string OpenAI = "openai";
    public const string Gemini = "gemini";
    public const string OpenAICompatible = "openai-compatible";
    public const string Offline = "offline";

    public static readonly string[] All = [OpenAI, Gemini, OpenAICompatible, Offline];

    /// <summary>
    /// Hidden: answers each model turn of a replay with what the model answered in the recorded run. Not in <see cref="All"/>,
    /// so it is never listed, chosen for a task, or switched to; only <c>POST /api/v1/tasks/{id}/replay</c> sets it.
    /// </summary>
    public const string Replay = "replay";

    /// <summary>The model a replay task names: the recorded run it answers from.</summary>
    public const string ReplayModel = "recorded-run";

    /// <summary>The model each provider uses unless the AppHost's <c>openai-model</c> or <c>gemini-model</c> says otherwise.</summary>
    public const string OpenAIDefaultModel = "gpt-4o";

    /// <inheritdoc cref="OpenAIDefaultModel"/>
    public const string GeminiDefaultModel = "gemini-2.5-pro";

    /// <summary>The models the pickers offer for a brain besides its configured one (each has a price in <c>ModelPrices</c>).</summary>
    public static IReadOnlyList<string> OfferedModels(string brain) => brain switch
    {
        OpenAI => [OpenAIDefaultModel, "gpt-4o-mini", "gpt-4.1"],
        Gemini => [GeminiDefaultModel, "gemini-2.5-flash"],
        _ => [],
    };
}
