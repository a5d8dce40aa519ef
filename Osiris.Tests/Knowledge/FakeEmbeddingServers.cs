using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Osiris.Tests.Knowledge;

public enum FakeEmbeddingProvider
{
    /// <summary><c>POST /v1/embeddings</c>, Bearer key.</summary>
    OpenAI,

    /// <summary><c>POST /v1beta/models/{model}:batchEmbedContents</c> and <c>:embedContent</c>, <c>x-goog-api-key</c>.</summary>
    Gemini,
}

/// <summary>
/// A local stand-in for OpenAI's or Gemini's embeddings API that answers in the provider's wire format and refuses what
/// the real service refuses, with its status code and error body. The test decides the vectors: <c>embed</c> turns one
/// text into its vector, which is padded with zeros to the model's size and L2-normalised (what both providers return
/// at full size), then shortened when the request asks for fewer dimensions — renormalised by OpenAI (text-embedding-3
/// does), left as cut by Gemini (only its full-size vectors are normalised).
/// </summary>
/// <remarks>
/// <see cref="Requests"/> counts everything that arrived (refused and failed requests too); <see cref="Inputs"/> counts
/// the texts embedded in answers that succeeded. A refusal for a rule the real API enforces is recorded in
/// <see cref="Rejections"/>; a test normally asserts it stays empty. <see cref="Failing"/> answers like an overloaded
/// provider (not a rejection). The OpenAI SDK retries 408/429/5xx itself (three retries with back-off by default).
/// </remarks>
public sealed class FakeEmbeddingServer : IAsyncDisposable
{
    public const string OpenAIKey = "test-openai-embeddings-key";
    public const string GeminiKey = "test-gemini-embeddings-key";

    public static readonly IReadOnlyDictionary<string, int> OpenAIModels = new Dictionary<string, int>
    {
        ["text-embedding-3-small"] = 1536,
        ["text-embedding-3-large"] = 3072,
        ["text-embedding-ada-002"] = 1536,
    };

    public static readonly IReadOnlyDictionary<string, int> GeminiModels = new Dictionary<string, int>
    {
        ["gemini-embedding-001"] = 3072,
    };

    private const int OpenAIMaxInputs = 2048;
    private const int OpenAIMaxInputTokens = 8192;
    private const int OpenAIMaxRequestTokens = 300_000;
    private const int GeminiMaxBatch = 100;

    private static readonly HashSet<string> OpenAIFields = ["model", "input", "encoding_format", "dimensions", "user"];
    private static readonly HashSet<string> GeminiBatchFields = ["requests", "model"];
    private static readonly HashSet<string> GeminiRequestFields =
        ["model", "content", "taskType", "task_type", "title", "outputDimensionality", "output_dimensionality"];
    private static readonly HashSet<string> GeminiContentFields = ["parts", "role"];
    private static readonly HashSet<string> GeminiPartFields = ["text"];
    private static readonly HashSet<string> GeminiTaskTypes =
    [
        "TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION",
        "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY",
    ];

    // Both services send base64 with '+' and '/' unescaped; System.Text.Json's default encoder would write '+' as \u002B.
    private static readonly JsonSerializerOptions Wire = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly WebApplication _app;
    private readonly Func<string, float[]> _embed;
    private readonly ConcurrentQueue<string> _rejections = new();
    private readonly ConcurrentQueue<JsonElement> _bodies = new();
    private readonly ConcurrentQueue<string> _urls = new();
    private int _requests;
    private int _inputs;

    private FakeEmbeddingServer(WebApplication app, FakeEmbeddingProvider provider, Func<string, float[]> embed, string apiKey)
    {
        _app = app;
        _embed = embed;
        Provider = provider;
        ApiKey = apiKey;
        FailStatus = provider == FakeEmbeddingProvider.OpenAI ? 429 : 503;
    }

    public FakeEmbeddingProvider Provider { get; }

    public string ApiKey { get; }

    /// <summary>
    /// What the client is given. OpenAI: the <c>/v1</c> base, as <c>OpenAIClientOptions.Endpoint</c> takes it (the SDK
    /// appends <c>/embeddings</c>, with or without a trailing slash). Gemini: the host root (the client adds <c>v1beta/…</c>).
    /// </summary>
    public Uri Endpoint => Provider == FakeEmbeddingProvider.OpenAI ? new Uri(Root + "v1") : new Uri(Root);

    public int Requests => Volatile.Read(ref _requests);

    public int Inputs => Volatile.Read(ref _inputs);

    /// <summary>Why each refused request was refused: status and the provider's message.</summary>
    public IReadOnlyList<string> Rejections => [.. _rejections];

    /// <summary>Every JSON body that parsed, in arrival order.</summary>
    public IReadOnlyList<JsonElement> Bodies => [.. _bodies];

    /// <summary>Path and query of every request (a Gemini key belongs in the header, never in <c>?key=</c>).</summary>
    public IReadOnlyList<string> Urls => [.. _urls];

    /// <summary>Answer every authenticated request like an overloaded provider, with <see cref="FailStatus"/>.</summary>
    public bool Failing { get; set; }

    /// <summary>429 (OpenAI's default), 500 or 503 (Gemini's default).</summary>
    public int FailStatus { get; set; }

    /// <summary>Sent as <c>retry-after</c> with failures when set.</summary>
    public double? RetryAfterSeconds { get; set; }

    private string Root => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/";

    public static async Task<FakeEmbeddingServer> StartAsync(FakeEmbeddingProvider provider, Func<string, float[]> embed, string? apiKey = null)
    {
        ArgumentNullException.ThrowIfNull(embed);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeEmbeddingServer(app, provider, embed, apiKey ?? (provider == FakeEmbeddingProvider.OpenAI ? OpenAIKey : GeminiKey));
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        return fake;
    }

    /// <summary>The vector this server answers for <paramref name="text"/> (model: the provider's default).</summary>
    public float[] VectorFor(string text, int? dimensions = null, string? model = null)
    {
        var models = Provider == FakeEmbeddingProvider.OpenAI ? OpenAIModels : GeminiModels;
        model ??= Provider == FakeEmbeddingProvider.OpenAI ? "text-embedding-3-small" : "gemini-embedding-001";
        var size = models[model];
        var raw = _embed(text);
        if (raw.Length > size)
        {
            throw new InvalidOperationException($"embed gave {raw.Length} values for a {size}-dimension model ({model}).");
        }
        var full = new float[size];
        raw.CopyTo(full, 0);
        Normalise(full);
        if (dimensions is not { } wanted || wanted >= size)
        {
            return full;
        }
        var cut = full[..wanted];
        if (Provider == FakeEmbeddingProvider.OpenAI)
        {
            Normalise(cut);
        }
        return cut;
    }

    private sealed record Answer(int Status, string Body);

    private async Task HandleAsync(HttpContext http)
    {
        Interlocked.Increment(ref _requests);
        _urls.Enqueue(http.Request.Path.Value + http.Request.QueryString.Value);
        var answer = Provider == FakeEmbeddingProvider.OpenAI ? await OpenAIAsync(http) : await GeminiAsync(http);
        http.Response.StatusCode = answer.Status;
        http.Response.ContentType = Provider == FakeEmbeddingProvider.OpenAI ? "application/json" : "application/json; charset=UTF-8";
        await http.Response.WriteAsync(answer.Body);
    }

    // ---- OpenAI: https://platform.openai.com/docs/api-reference/embeddings/create ----

    private async Task<Answer> OpenAIAsync(HttpContext http)
    {
        var request = http.Request;
        if (request.Method != HttpMethods.Post || request.Path.Value != "/v1/embeddings")
        {
            return OpenAIError(404, $"Invalid URL ({request.Method} {request.Path.Value})");
        }
        var authorization = request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal) || authorization.Length == "Bearer ".Length)
        {
            return OpenAIError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth " +
                "(i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your " +
                "browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.");
        }
        var key = authorization["Bearer ".Length..].Trim();
        if (key != ApiKey)
        {
            return OpenAIError(401, $"Incorrect API key provided: {Mask(key)}. You can find your API key at https://platform.openai.com/account/api-keys.",
                code: "invalid_api_key");
        }
        if (await ReadJsonAsync(http) is not { ValueKind: JsonValueKind.Object } body)
        {
            return OpenAIError(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. " +
                "The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, " +
                "please contact us through our help center at help.openai.com.)");
        }
        if (Failing)
        {
            return Fail(http, body.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "text-embedding-3-small");
        }
        foreach (var property in body.EnumerateObject())
        {
            if (!OpenAIFields.Contains(property.Name))
            {
                return OpenAIError(400, $"Unrecognized request argument supplied: {property.Name}");
            }
        }
        if (!body.TryGetProperty("model", out var modelElement) || modelElement.ValueKind != JsonValueKind.String || modelElement.GetString() is not { Length: > 0 } model)
        {
            return OpenAIError(400, "you must provide a model parameter");
        }
        if (!OpenAIModels.TryGetValue(model, out var size))
        {
            return OpenAIError(404, $"The model `{model}` does not exist or you do not have access to it.", code: "model_not_found");
        }
        if (!body.TryGetProperty("input", out var input))
        {
            return OpenAIError(400, "Missing required parameter: 'input'.", "input", "missing_required_parameter");
        }
        var texts = OpenAIInputs(input);
        if (texts is { Count: > OpenAIMaxInputs })
        {
            return OpenAIError(400, $"Invalid 'input': array length must be {OpenAIMaxInputs} or less.", "input");
        }
        if (texts is null || texts.Count == 0 || texts.Any(t => t.Length == 0))
        {
            return OpenAIError(400, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.");
        }
        var format = "float";
        if (body.TryGetProperty("encoding_format", out var formatElement) && formatElement.ValueKind != JsonValueKind.Null)
        {
            if (formatElement.ValueKind != JsonValueKind.String || formatElement.GetString() is not ("float" or "base64"))
            {
                return OpenAIError(400, $"Invalid value: '{formatElement}'. Supported values are: 'float' and 'base64'.", "encoding_format", "invalid_value");
            }
            format = formatElement.GetString()!;
        }
        int? dimensions = null;
        if (body.TryGetProperty("dimensions", out var dimensionsElement) && dimensionsElement.ValueKind != JsonValueKind.Null)
        {
            if (dimensionsElement.ValueKind != JsonValueKind.Number || !dimensionsElement.TryGetInt32(out var wanted))
            {
                return OpenAIError(400, $"Invalid type for 'dimensions': expected an integer, but got {Kind(dimensionsElement)} instead.", "dimensions", "invalid_type");
            }
            if (model == "text-embedding-ada-002")
            {
                return OpenAIError(400, "This model does not support specifying dimensions.");
            }
            if (wanted < 1)
            {
                return OpenAIError(400, $"Invalid value for 'dimensions' = {wanted}. Must be greater than or equal to 1.", "dimensions");
            }
            if (wanted > size)
            {
                return OpenAIError(400, $"Invalid value for 'dimensions' = {wanted}. Must be less than or equal to {size}.", "dimensions");
            }
            dimensions = wanted;
        }
        if (body.TryGetProperty("user", out var user) && user.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            return OpenAIError(400, $"Invalid type for 'user': expected a string, but got {Kind(user)} instead.", "user", "invalid_type");
        }
        var tokens = texts.Select(Words).ToList();
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i] > OpenAIMaxInputTokens)
            {
                return OpenAIError(400, $"Invalid 'input[{i}]': maximum input length is {OpenAIMaxInputTokens} tokens.", $"input[{i}]");
            }
        }
        var total = tokens.Sum();
        if (total > OpenAIMaxRequestTokens)
        {
            return OpenAIError(400, $"Requested {total} tokens, max {OpenAIMaxRequestTokens} tokens per request", "input", "max_tokens_per_request");
        }

        var data = texts.Select((text, index) =>
        {
            var vector = VectorFor(text, dimensions, model);
            return new { @object = "embedding", index, embedding = format == "base64" ? (object)Base64(vector) : vector };
        }).ToList();
        Interlocked.Add(ref _inputs, texts.Count);
        return new Answer(200, JsonSerializer.Serialize(new
        {
            @object = "list",
            data,
            model,
            usage = new { prompt_tokens = total, total_tokens = total },
        }, Wire));
    }

    /// <summary>
    /// A string, an array of strings, an array of token ids, or an array of token-id arrays (token ids stand for one
    /// word each here). Null when it is none of them; empty strings and empty token arrays come back as "".
    /// </summary>
    private static List<string>? OpenAIInputs(JsonElement input)
    {
        if (input.ValueKind == JsonValueKind.String)
        {
            return [input.GetString()!];
        }
        if (input.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        var items = input.EnumerateArray().ToList();
        if (items.Count > 0 && items.All(i => i.ValueKind == JsonValueKind.Number))
        {
            return items.All(i => i.TryGetInt32(out _)) ? [Tokens(input)] : null;
        }
        var texts = new List<string>();
        foreach (var item in items)
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                texts.Add(item.GetString()!);
            }
            else if (item.ValueKind == JsonValueKind.Array && item.EnumerateArray().All(t => t.ValueKind == JsonValueKind.Number && t.TryGetInt32(out _)))
            {
                texts.Add(Tokens(item));
            }
            else
            {
                return null;
            }
        }
        return texts;
    }

    private static string Tokens(JsonElement ids) => string.Join(' ', ids.EnumerateArray().Select(t => t.GetInt32().ToString(CultureInfo.InvariantCulture)));

    private Answer OpenAIError(int status, string message, string? param = null, string? code = null)
    {
        _rejections.Enqueue($"{status} {message}");
        return new Answer(status, JsonSerializer.Serialize(new { error = new { message, type = "invalid_request_error", param, code } }, Wire));
    }

    /// <summary>The key as OpenAI quotes it back: its start and end, the rest starred.</summary>
    private static string Mask(string key) =>
        key.Length <= 8 ? new string('*', key.Length) : key[..3] + new string('*', key.Length - 7) + key[^4..];

    // ---- Gemini: https://ai.google.dev/api/embeddings ----

    private async Task<Answer> GeminiAsync(HttpContext http)
    {
        const string prefix = "/v1beta/models/";
        var request = http.Request;
        var path = request.Path.Value ?? "";
        var colon = path.LastIndexOf(':');
        var method = colon > prefix.Length ? path[(colon + 1)..] : "";
        if (request.Method != HttpMethods.Post || !path.StartsWith(prefix, StringComparison.Ordinal) || method is not ("batchEmbedContents" or "embedContent"))
        {
            return GeminiError(404, "NOT_FOUND", $"The requested URL {path} was not found on this server.");
        }
        var model = Uri.UnescapeDataString(path[prefix.Length..colon]);
        var key = request.Headers["x-goog-api-key"].FirstOrDefault() ?? request.Query["key"].FirstOrDefault();
        if (string.IsNullOrEmpty(key))
        {
            return GeminiError(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). " +
                "Please use API Key or other form of API consumer identity to call this API.");
        }
        if (key != ApiKey)
        {
            const string invalid = "API key not valid. Please pass a valid API key.";
            return GeminiError(400, "INVALID_ARGUMENT", invalid,
            [
                new Dictionary<string, object>
                {
                    ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo", ["reason"] = "API_KEY_INVALID", ["domain"] = "googleapis.com",
                    ["metadata"] = new Dictionary<string, string> { ["service"] = "generativelanguage.googleapis.com" },
                },
                new Dictionary<string, object> { ["@type"] = "type.googleapis.com/google.rpc.LocalizedMessage", ["locale"] = "en-US", ["message"] = invalid },
            ]);
        }
        if (!request.HasJsonContentType())
        {
            return GeminiError(400, "INVALID_ARGUMENT", $"Invalid JSON payload received. Unexpected Content-Type '{request.ContentType}'.");
        }
        if (await ReadJsonAsync(http) is not { ValueKind: JsonValueKind.Object } body)
        {
            return GeminiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.");
        }
        if (Failing)
        {
            return Fail(http, model);
        }
        if (!GeminiModels.TryGetValue(model, out var size))
        {
            return GeminiError(404, "NOT_FOUND", $"models/{model} is not found for API version v1beta, or is not supported for {method}. " +
                "Call ListModels to see the list of available models and their supported methods.");
        }

        var batch = method == "batchEmbedContents";
        List<JsonElement> items;
        if (batch)
        {
            if (Unknown(body, GeminiBatchFields, null) is { } unknown)
            {
                return unknown;
            }
            if (!body.TryGetProperty("requests", out var requests) || requests.ValueKind != JsonValueKind.Array || requests.GetArrayLength() == 0)
            {
                return GeminiError(400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: requests must not be empty\n");
            }
            if (requests.GetArrayLength() > GeminiMaxBatch)
            {
                return GeminiError(400, "INVALID_ARGUMENT", $"* BatchEmbedContentsRequest.requests: at most {GeminiMaxBatch} requests can be in one batch\n");
            }
            items = [.. requests.EnumerateArray()];
        }
        else
        {
            items = [body];
        }

        var texts = new List<string>();
        var dimensions = new List<int?>();
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var at = batch ? $"requests[{i}]" : null;
            var proto = batch ? $"BatchEmbedContentsRequest.requests[{i}]" : "EmbedContentRequest";
            if (item.ValueKind != JsonValueKind.Object)
            {
                return GeminiError(400, "INVALID_ARGUMENT", $"Invalid JSON payload received. Expected an object at '{at ?? "$"}'.");
            }
            if (Unknown(item, GeminiRequestFields, at) is { } unknown)
            {
                return unknown;
            }
            var hasModel = item.TryGetProperty("model", out var itemModel) && itemModel.ValueKind == JsonValueKind.String;
            if (batch || hasModel)
            {
                // Each request of a batch names its model in full, and it is the batch's (the URL's) model.
                if (!hasModel || itemModel.GetString() is not { } named || !named.StartsWith("models/", StringComparison.Ordinal) || named.Length == "models/".Length)
                {
                    return GeminiError(400, "INVALID_ARGUMENT", $"* {proto}.model: unexpected model name format\n");
                }
                if (named != $"models/{model}")
                {
                    return GeminiError(400, "INVALID_ARGUMENT", $"* {proto}.model: the model in each request must match the batch's model (models/{model}), not {named}\n");
                }
            }
            if (Field(item, "taskType", "task_type") is { } taskType
                && (taskType.ValueKind != JsonValueKind.String || !GeminiTaskTypes.Contains(taskType.GetString()!)))
            {
                return GeminiError(400, "INVALID_ARGUMENT", $"Invalid value at '{Path(at, "task_type")}' (type.googleapis.com/google.ai.generativelanguage.v1beta.TaskType), {taskType.GetRawText()}");
            }
            if (item.TryGetProperty("title", out var title) && title.ValueKind != JsonValueKind.String)
            {
                return GeminiError(400, "INVALID_ARGUMENT", $"Invalid value at '{Path(at, "title")}' (TYPE_STRING), {title.GetRawText()}");
            }
            int? wanted = null;
            if (Field(item, "outputDimensionality", "output_dimensionality") is { } dimensionality)
            {
                if (dimensionality.ValueKind != JsonValueKind.Number || !dimensionality.TryGetInt32(out var n))
                {
                    return GeminiError(400, "INVALID_ARGUMENT", $"Invalid value at '{Path(at, "output_dimensionality")}' (TYPE_INT32), {dimensionality.GetRawText()}");
                }
                if (n < 1 || n > size)
                {
                    return GeminiError(400, "INVALID_ARGUMENT", $"* {proto}.output_dimensionality: output dimensionality must be between 1 and {size}, got {n}\n");
                }
                wanted = n;
            }
            if (!item.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Object)
            {
                return GeminiError(400, "INVALID_ARGUMENT", $"* {proto}.content: content is required\n");
            }
            if (Unknown(content, GeminiContentFields, Path(at, "content")) is { } unknownInContent)
            {
                return unknownInContent;
            }
            if (!content.TryGetProperty("parts", out var parts) || parts.ValueKind != JsonValueKind.Array || parts.GetArrayLength() == 0)
            {
                return GeminiError(400, "INVALID_ARGUMENT", $"* {proto}.content.parts: contents.parts must not be empty.\n");
            }
            var pieces = new List<string>();
            var p = 0;
            foreach (var part in parts.EnumerateArray())
            {
                var partPath = Path(at, $"content.parts[{p}]");
                if (part.ValueKind != JsonValueKind.Object)
                {
                    return GeminiError(400, "INVALID_ARGUMENT", $"Invalid JSON payload received. Expected an object at '{partPath}'.");
                }
                if (Unknown(part, GeminiPartFields, partPath) is { } unknownInPart)
                {
                    return unknownInPart;
                }
                if (!part.TryGetProperty("text", out var text))
                {
                    return GeminiError(400, "INVALID_ARGUMENT", $"* {proto}.content.parts[{p}].data: required oneof field 'data' must have one initialized field\n");
                }
                if (text.ValueKind != JsonValueKind.String)
                {
                    return GeminiError(400, "INVALID_ARGUMENT", $"Invalid value at '{partPath}.text' (TYPE_STRING), {text.GetRawText()}");
                }
                if (text.GetString() is not { Length: > 0 } piece)
                {
                    return GeminiError(400, "INVALID_ARGUMENT", "EmbedContentRequest.content contains an empty Part.");
                }
                pieces.Add(piece);
                p++;
            }
            texts.Add(string.Join(' ', pieces));
            dimensions.Add(wanted);
        }

        var vectors = texts.Select((text, i) => VectorFor(text, dimensions[i], model)).ToList();
        Interlocked.Add(ref _inputs, texts.Count);
        return new Answer(200, batch
            ? JsonSerializer.Serialize(new { embeddings = vectors.Select(values => new { values }) }, Wire)
            : JsonSerializer.Serialize(new { embedding = new { values = vectors[0] } }, Wire));
    }

    /// <summary>Google's refusal of a field its message does not define (proto JSON takes camelCase and snake_case names).</summary>
    private Answer? Unknown(JsonElement element, IReadOnlySet<string> known, string? at)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (!known.Contains(property.Name))
            {
                return GeminiError(400, "INVALID_ARGUMENT", at is null
                    ? $"Invalid JSON payload received. Unknown name \"{property.Name}\": Cannot find field."
                    : $"Invalid JSON payload received. Unknown name \"{property.Name}\" at '{at}': Cannot find field.");
            }
        }
        return null;
    }

    private static JsonElement? Field(JsonElement element, string camel, string snake) =>
        element.TryGetProperty(camel, out var value) || element.TryGetProperty(snake, out value) ? value : null;

    private static string Path(string? at, string field) => at is null ? field : $"{at}.{field}";

    private Answer GeminiError(int status, string grpcStatus, string message, object[]? details = null)
    {
        _rejections.Enqueue($"{status} {grpcStatus}: {message.TrimEnd('\n')}");
        return new Answer(status, GeminiErrorBody(status, grpcStatus, message, details));
    }

    private static string GeminiErrorBody(int status, string grpcStatus, string message, object[]? details = null) => details is null
        ? JsonSerializer.Serialize(new { error = new { code = status, message, status = grpcStatus } }, Wire)
        : JsonSerializer.Serialize(new { error = new { code = status, message, status = grpcStatus, details } }, Wire);

    // ---- Shared ----

    /// <summary>An overloaded or rate-limited provider's answer, as each sends it; not a rejection.</summary>
    private Answer Fail(HttpContext http, string model)
    {
        if (RetryAfterSeconds is { } after)
        {
            http.Response.Headers["retry-after"] = after.ToString(CultureInfo.InvariantCulture);
        }
        object error = (Provider, FailStatus) switch
        {
            (FakeEmbeddingProvider.OpenAI, 429) => new
            {
                message = $"Rate limit reached for {model} in organization org-test on tokens per min (TPM): Limit 1000000, Used 999990, Requested 120. " +
                          "Please try again in 7ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
                type = "tokens", param = (string?)null, code = "rate_limit_exceeded",
            },
            (FakeEmbeddingProvider.OpenAI, 503) => new
            {
                message = "The engine is currently overloaded, please try again later.", type = "server_error", param = (string?)null, code = (string?)null,
            },
            (FakeEmbeddingProvider.OpenAI, _) => new
            {
                message = "The server had an error while processing your request. Sorry about that!", type = "server_error", param = (string?)null, code = (string?)null,
            },
            (_, 429) => new
            {
                code = 429, message = "You exceeded your current quota, please check your plan and billing details.", status = "RESOURCE_EXHAUSTED",
            },
            (_, 500) => new
            {
                code = 500, message = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
                status = "INTERNAL",
            },
            _ => new { code = 503, message = "The model is overloaded. Please try again later.", status = "UNAVAILABLE" },
        };
        return new Answer(FailStatus, JsonSerializer.Serialize(new { error }, Wire));
    }

    /// <summary>The body as JSON, recorded in <see cref="Bodies"/>; null when it is not JSON or not declared as JSON.</summary>
    private async Task<JsonElement?> ReadJsonAsync(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body);
        var text = await reader.ReadToEndAsync(http.RequestAborted);
        if (!http.Request.HasJsonContentType())
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(text);
            var body = document.RootElement.Clone();
            _bodies.Enqueue(body);
            return body;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Tokens, roughly: words, at least one per input.</summary>
    private static int Words(string text) => Math.Max(1, text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length);

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a decimal",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    /// <summary>Little-endian float32s in base64, what <c>encoding_format: "base64"</c> returns.</summary>
    private static string Base64(float[] vector)
    {
        var bytes = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), vector[i]);
        }
        return Convert.ToBase64String(bytes);
    }

    private static void Normalise(float[] vector)
    {
        var sum = 0d;
        foreach (var value in vector)
        {
            sum += (double)value * value;
        }
        if (sum > 0)
        {
            var norm = Math.Sqrt(sum);
            for (var i = 0; i < vector.Length; i++)
            {
                vector[i] = (float)(vector[i] / norm);
            }
        }
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
