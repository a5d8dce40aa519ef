using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Osiris.Agent.Brains.Gemini;

/// <summary>Translates Microsoft.Extensions.AI chat messages and options into a <c>generateContent</c> request body.</summary>
internal static class GeminiRequestBuilder
{
    public static GeminiRequest Build(IEnumerable<ChatMessage> messages, ChatOptions? options, bool includeThoughts = false)
    {
        var system = new List<GeminiPart>();
        if (!string.IsNullOrWhiteSpace(options?.Instructions))
        {
            system.Add(new GeminiPart(Text: options.Instructions));
        }

        var contents = new List<GeminiContent>();
        var functionNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.System)
            {
                system.AddRange(message.Contents.OfType<TextContent>().Select(t => new GeminiPart(Text: t.Text)));
                continue;
            }
            var role = message.Role == ChatRole.Assistant ? "model" : "user";
            var parts = GeminiParts.From(message.Contents, functionNames);
            if (role == "model")
            {
                parts = GeminiParts.WithForeignCallsMarked(parts);
            }
            if (parts.Count == 0)
            {
                continue;
            }
            // Gemini wants turns, not messages: a model's text and its calls, or tool results and a person's words that
            // followed them, are one turn each. So adjacent contents of one role become one.
            if (contents.Count > 0 && contents[^1].Role == role)
            {
                contents[^1] = contents[^1] with { Parts = [.. contents[^1].Parts!, .. parts] };
            }
            else
            {
                contents.Add(new GeminiContent(role, parts));
            }
        }

        var declarations = (options?.Tools ?? []).OfType<AIFunctionDeclaration>()
            .Select(f => new GeminiFunctionDeclaration(f.Name, string.IsNullOrEmpty(f.Description) ? null : f.Description, GeminiSchema.ForParameters(f.JsonSchema)))
            .ToList();

        return new GeminiRequest(
            contents,
            system.Count > 0 ? new GeminiContent(null, system) : null,
            declarations.Count > 0 ? [new GeminiTool(declarations)] : null,
            declarations.Count > 0 ? ToolConfig(options?.ToolMode) : null,
            GenerationConfig(options, includeThoughts));
    }

    private static GeminiToolConfig? ToolConfig(ChatToolMode? mode) => mode switch
    {
        NoneChatToolMode => new(new("NONE")),
        AutoChatToolMode => new(new("AUTO")),
        RequiredChatToolMode { RequiredFunctionName: { } name } => new(new("ANY", [name])),
        RequiredChatToolMode => new(new("ANY")),
        _ => null,
    };

    private static GeminiGenerationConfig? GenerationConfig(ChatOptions? options, bool includeThoughts)
    {
        var thinking = includeThoughts ? new GeminiThinkingConfig(IncludeThoughts: true) : null;
        if (options is null)
        {
            return thinking is null ? null : new GeminiGenerationConfig(ThinkingConfig: thinking);
        }
        var config = new GeminiGenerationConfig(
            options.Temperature,
            options.TopP,
            options.TopK,
            options.MaxOutputTokens,
            options.StopSequences is { Count: > 0 } stops ? [.. stops] : null,
            options.Seed,
            options.PresencePenalty,
            options.FrequencyPenalty,
            options.ResponseFormat is ChatResponseFormatJson ? "application/json" : null,
            thinking);
        return config == new GeminiGenerationConfig() ? null : config;
    }

    /// <summary>What a function returned, as the JSON object <c>functionResponse.response</c> must be.</summary>
    public static JsonElement FunctionResponse(FunctionResultContent result)
    {
        if (result.Result is null && result.Exception is { } exception)
        {
            return JsonSerializer.SerializeToElement(new { error = exception.Message }, GeminiJson.Options);
        }
        var value = result.Result as JsonElement? ?? JsonSerializer.SerializeToElement(result.Result, AIJsonUtilities.DefaultOptions);
        return value.ValueKind == JsonValueKind.Object
            ? value
            : JsonSerializer.SerializeToElement(new { result = value }, GeminiJson.Options);
    }
}
