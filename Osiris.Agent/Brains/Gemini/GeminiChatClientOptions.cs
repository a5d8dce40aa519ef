using System.ComponentModel.DataAnnotations;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Brains.Gemini;

/// <summary>Where and as whom <see cref="GeminiChatClient"/> talks to Gemini (parameters <c>gemini-endpoint</c>, <c>gemini-api-key</c>, <c>gemini-model</c>).</summary>
public sealed class GeminiChatClientOptions
{
    /// <summary>The API root that <c>/models/{model}:generateContent</c> is appended to.</summary>
    [Required]
    public Uri Endpoint { get; set; } = new("https://generativelanguage.googleapis.com/v1beta");

    /// <summary>Sent as the <c>x-goog-api-key</c> header only: never in a URL, never in a log or exception.</summary>
    [Required]
    public string ApiKey { get; set; } = "";

    /// <summary>The default model; <see cref="Microsoft.Extensions.AI.ChatOptions.ModelId"/> overrides it per call.</summary>
    [Required]
    public string Model { get; set; } = BrainNames.GeminiDefaultModel;

    /// <summary>Asks thinking models (2.5 and later) for their thought summaries, streamed as reasoning content.</summary>
    public bool IncludeThoughts { get; set; } = true;

    // The key is a secret: keep it out of anything that prints the options (debugger, logs of bound configuration).
    public override string ToString() => $"Gemini {Model} at {Endpoint}";
}
