using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Osiris.Agent.Brains.Gemini;

/// <summary>
/// The <c>gemini</c> brain: an <see cref="IChatClient"/> over Gemini's native REST API
/// (<c>models/{model}:generateContent</c> and <c>:streamGenerateContent?alt=sse</c>).
/// </summary>
/// <remarks>
/// Thought signatures come back on the contents made from the parts that carried them (see <see cref="ThoughtSignatureKey"/>
/// and <see cref="GeminiParts"/>) and are sent back unchanged as long as the conversation keeps those contents.
/// The HttpClient is not owned: it is not disposed here.
/// </remarks>
public sealed class GeminiChatClient(HttpClient httpClient, GeminiChatClientOptions geminiOptions) : IChatClient
{
    /// <summary>The <c>AdditionalProperties</c> key holding a function call's <c>thoughtSignature</c>, exactly as Gemini sent it.</summary>
    public const string ThoughtSignatureKey = "thoughtSignature";

    private readonly ChatClientMetadata _metadata = new("gemini", geminiOptions.Endpoint, geminiOptions.Model);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var model = ModelFor(options);
        using var request = CreateRequest(model, "generateContent", messages, options);
        using var response = await httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await GeminiErrors.ThrowIfFailedAsync(response, model, cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<GeminiResponse>(GeminiJson.Options, cancellationToken)
            ?? throw new InvalidDataException($"Gemini {model} answered with an empty body.");
        return GeminiResponseReader.ToChatResponse(body, model);
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var model = ModelFor(options);
        using var request = CreateRequest(model, "streamGenerateContent?alt=sse", messages, options);
        using var response = await httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await GeminiErrors.ThrowIfFailedAsync(response, model, cancellationToken);

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var sawFunctionCall = false;
        GeminiResponse? unreportedUsage = null;
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken))
        {
            if (string.IsNullOrWhiteSpace(item.Data))
            {
                continue;
            }
            var chunk = JsonSerializer.Deserialize<GeminiResponse>(item.Data, GeminiJson.Options);
            if (chunk is null)
            {
                continue;
            }
            GeminiErrors.ThrowIfError(chunk.Error, model);
            sawFunctionCall |= GeminiResponseReader.HasFunctionCall(chunk);
            var isLast = GeminiResponseReader.IsLast(chunk);
            unreportedUsage = isLast ? null : chunk.UsageMetadata is null ? unreportedUsage : chunk;
            yield return GeminiResponseReader.ToUpdate(chunk, model, sawFunctionCall, withUsage: isLast);
        }

        // A stream cut short of its finishReason still reports what it used so far.
        if (unreportedUsage is not null)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(GeminiResponseReader.Usage(unreportedUsage.UsageMetadata)!)])
            {
                ResponseId = unreportedUsage.ResponseId,
                MessageId = unreportedUsage.ResponseId,
                ModelId = unreportedUsage.ModelVersion ?? model,
            };
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    public void Dispose()
    {
    }

    private string ModelFor(ChatOptions? options)
    {
        var model = string.IsNullOrWhiteSpace(options?.ModelId) ? geminiOptions.Model : options.ModelId;
        return model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model;
    }

    /// <summary>Models before 2.5 do not think and reject a thinking configuration.</summary>
    private static bool Thinks(string model) =>
        !model.StartsWith("gemini-1", StringComparison.Ordinal) && !model.StartsWith("gemini-2.0", StringComparison.Ordinal);

    private HttpRequestMessage CreateRequest(string model, string method, IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var url = $"{geminiOptions.Endpoint.AbsoluteUri.TrimEnd('/')}/models/{Uri.EscapeDataString(model)}:{method}";
        var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = JsonContent.Create(GeminiRequestBuilder.Build(messages, options, geminiOptions.IncludeThoughts && Thinks(model)), options: GeminiJson.Options),
        };
        request.Headers.Add("x-goog-api-key", geminiOptions.ApiKey);
        return request;
    }
}
