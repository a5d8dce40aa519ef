namespace Osiris.Tests.Agent.Gemini;

/// <summary>Canned <c>GenerateContentResponse</c> bodies, shaped as the Gemini API returns them (fields it adds included).</summary>
internal static class GeminiReplies
{
    private const string DefaultUsage = """{ "promptTokenCount": 12, "candidatesTokenCount": 4, "totalTokenCount": 16 }""";

    public static string Text(string text, string finishReason, string usage = DefaultUsage) =>
        Chunk($$"""[{ "text": {{System.Text.Json.JsonSerializer.Serialize(text)}} }]""", finishReason, usage);

    /// <summary>One response (or one streamed chunk) with the given <c>parts</c> array.</summary>
    public static string Chunk(string partsJson, string? finishReason = null, string? usage = null) => $$"""
        {
          "candidates": [{
            "content": { "parts": {{partsJson}}, "role": "model" },
            {{(finishReason is null ? "" : $"\"finishReason\": \"{finishReason}\",")}}
            "index": 0
          }],
          {{(usage is null ? "" : $"\"usageMetadata\": {usage},")}}
          "modelVersion": "gemini-2.5-pro-001",
          "responseId": "resp-1"
        }
        """;
}
