using System.Net.Http.Json;
using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;

namespace Osiris.Shared.Knowledge;

/// <summary>
/// An <see cref="IEmbeddingGenerator{TInput,TEmbedding}"/> over Gemini's native REST API
/// (<c>v1beta/models/{model}:batchEmbedContents</c>), at most <see cref="MaxBatchSize"/> texts per request.
/// </summary>
/// <remarks>
/// Texts are embedded as <c>RETRIEVAL_DOCUMENT</c> unless <see cref="EmbeddingGenerationOptions.AdditionalProperties"/>
/// carries another <see cref="TaskTypeKey"/> (a search question is <c>RETRIEVAL_QUERY</c>). The key travels only in the
/// <c>x-goog-api-key</c> header, never in the URL, so neither logged URLs nor exception messages can carry it.
/// The HttpClient is not owned: it is not disposed here.
/// </remarks>
public sealed class GeminiEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>Gemini refuses a batch of more: "at most 100 requests can be in one batch".</summary>
    public const int MaxBatchSize = 100;

    public const string TaskTypeKey = "taskType";
    public const string RetrievalDocument = "RETRIEVAL_DOCUMENT";
    public const string RetrievalQuery = "RETRIEVAL_QUERY";

    private const int MaxQuotedBody = 500;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string _apiKey;
    private readonly string _model;
    private readonly int? _dimensions;
    private readonly EmbeddingGeneratorMetadata _metadata;

    public GeminiEmbeddingGenerator(HttpClient http, Uri endpoint, string apiKey, string model, int? dimensions)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(apiKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (dimensions is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, "Dimensions must be at least 1.");
        }
        _http = http;
        _endpoint = endpoint;
        _apiKey = apiKey;
        _model = Bare(model);
        _dimensions = dimensions;
        _metadata = new EmbeddingGeneratorMetadata("gemini", endpoint, _model, dimensions);
    }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var model = options?.ModelId is { Length: > 0 } requested ? Bare(requested) : _model;
        var dimensions = options?.Dimensions ?? _dimensions;
        var taskType = options?.AdditionalProperties?.TryGetValue(TaskTypeKey, out string? type) == true && !string.IsNullOrWhiteSpace(type)
            ? type
            : RetrievalDocument;
        // The endpoint may be the API's root or, like the Gemini brain's, its /v1beta base.
        var root = _endpoint.AbsoluteUri.TrimEnd('/');
        var version = root.EndsWith("/v1beta", StringComparison.Ordinal) || root.EndsWith("/v1", StringComparison.Ordinal) ? "" : "/v1beta";
        var url = new Uri($"{root}{version}/models/{Uri.EscapeDataString(model)}:batchEmbedContents");

        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var batch in values.Chunk(MaxBatchSize))
        {
            var body = new BatchRequest([.. batch.Select(text => new EmbedRequest($"models/{model}", new EmbedContent([new TextPart(text)]), taskType, dimensions))]);
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body, options: Json) };
            request.Headers.Add("x-goog-api-key", _apiKey);
            using var response = await _http.SendAsync(request, cancellationToken);
            await ThrowIfFailedAsync(response, model, cancellationToken);

            var answer = await response.Content.ReadFromJsonAsync<BatchResponse>(Json, cancellationToken);
            if (answer?.Embeddings is not { } embeddings || embeddings.Count != batch.Length)
            {
                throw new InvalidDataException($"Gemini model '{model}' answered {answer?.Embeddings?.Count ?? 0} embeddings for {batch.Length} texts.");
            }
            var createdAt = DateTimeOffset.UtcNow;
            foreach (var embedding in embeddings)
            {
                result.Add(new Embedding<float>(Normalised(embedding.Values ?? Array.Empty<float>())) { ModelId = model, CreatedAt = createdAt });
            }
        }
        return result;
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    public void Dispose()
    {
    }

    private static string Bare(string model) => model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model;

    /// <summary>
    /// Gemini normalises only full-size vectors: one shortened with outputDimensionality comes back with a norm below 1,
    /// and a dot product of such vectors is no longer the cosine similarity.
    /// </summary>
    private static float[] Normalised(float[] vector)
    {
        Span<float> values = vector;
        var norm = TensorPrimitives.Norm((ReadOnlySpan<float>)values);
        if (norm > 0)
        {
            TensorPrimitives.Divide((ReadOnlySpan<float>)values, norm, values);
        }
        return vector;
    }

    /// <remarks>Quotes Google's message and status, never the request: its headers hold the key.</remarks>
    private async Task ThrowIfFailedAsync(HttpResponseMessage response, string model, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        ErrorDetail? error = null;
        try
        {
            error = JsonSerializer.Deserialize<ErrorEnvelope>(body, Json)?.Error;
        }
        catch (JsonException)
        {
            // Not Google's JSON (a proxy's HTML page, say): quote the start of it instead.
        }
        var detail = error?.Message ?? (body.Length > MaxQuotedBody ? body[..MaxQuotedBody] + "…" : body);
        if (_apiKey.Length > 0)
        {
            // In case something in between echoes the request back.
            detail = detail.Replace(_apiKey, "***", StringComparison.Ordinal);
        }
        var status = error?.Status is { Length: > 0 } s ? $" {s}" : "";
        throw new HttpRequestException(
            $"Gemini embedding model '{model}' answered {(int)response.StatusCode} ({response.ReasonPhrase}){status}: {detail}",
            inner: null,
            response.StatusCode);
    }

    private sealed record BatchRequest(IReadOnlyList<EmbedRequest> Requests);

    private sealed record EmbedRequest(string Model, EmbedContent Content, string? TaskType, int? OutputDimensionality);

    private sealed record EmbedContent(IReadOnlyList<TextPart> Parts);

    private sealed record TextPart(string Text);

    private sealed record BatchResponse(IReadOnlyList<ContentEmbedding>? Embeddings);

    private sealed record ContentEmbedding(float[]? Values);

    private sealed record ErrorEnvelope(ErrorDetail? Error);

    private sealed record ErrorDetail(int? Code, string? Message, string? Status);
}
