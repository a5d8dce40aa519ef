using System.Net;
using System.Text.Json;

using Osiris.Agent.Brains;

namespace Osiris.Agent.Brains.Gemini;

/// <summary>Turns Gemini's error replies (<c>{"error": {"code", "message", "status"}}</c>) into HttpRequestExceptions.</summary>
/// <remarks>
/// The exception carries <see cref="HttpRequestException.StatusCode"/> so retry policies can tell 429/5xx from the rest,
/// and Google's own message so a person can act on it. The request (URL and headers) is never quoted, so the API key,
/// which travels only in the <c>x-goog-api-key</c> header, cannot end up in the text.
/// </remarks>
internal static class GeminiErrors
{
    private const int MaxQuotedBody = 500;

    public static async Task ThrowIfFailedAsync(HttpResponseMessage response, string model, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var error = TryParse(body);
        var detail = error?.Message ?? (body.Length > MaxQuotedBody ? body[..MaxQuotedBody] + "…" : body);
        var status = error?.Status is { } s ? $" {s}" : "";
        var exception = new HttpRequestException(
            $"Gemini model '{model}' answered {(int)response.StatusCode} ({response.ReasonPhrase}){status}: {detail}",
            inner: null,
            response.StatusCode);
        if ((RetryDelay(error) ?? RetryAfter(response)) is { } delay)
        {
            exception.Data[ModelErrors.RetryAfterKey] = delay;
        }
        throw exception;
    }

    /// <summary>An error that arrives inside an event stream after a 200.</summary>
    public static void ThrowIfError(GeminiError? error, string model)
    {
        if (error is null)
        {
            return;
        }
        HttpStatusCode? status = error.Code is { } code ? (HttpStatusCode)code : null;
        var exception = new HttpRequestException($"Gemini model '{model}' failed mid-stream ({error.Code} {error.Status}): {error.Message}", null, status);
        if (RetryDelay(error) is { } delay)
        {
            exception.Data[ModelErrors.RetryAfterKey] = delay;
        }
        throw exception;
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter is { } header
            ? header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null)
            : null;

    /// <summary>
    /// A 429 from Gemini says when to come back in its details: <c>{"@type": "type.googleapis.com/google.rpc.RetryInfo",
    /// "retryDelay": "23s"}</c> (a protobuf Duration in JSON: seconds with optional fraction and an "s").
    /// </summary>
    public static TimeSpan? RetryDelay(GeminiError? error)
    {
        foreach (var detail in error?.Details ?? [])
        {
            if (detail.ValueKind == JsonValueKind.Object
                && detail.TryGetProperty("@type", out var type) && type.GetString()?.EndsWith("google.rpc.RetryInfo", StringComparison.Ordinal) == true
                && detail.TryGetProperty("retryDelay", out var delay) && delay.GetString() is { } text && text.EndsWith('s')
                && double.TryParse(text[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
            {
                return TimeSpan.FromSeconds(seconds);
            }
        }
        return null;
    }

    private static GeminiError? TryParse(string body)
    {
        try
        {
            return JsonSerializer.Deserialize<GeminiErrorEnvelope>(body, GeminiJson.Options)?.Error;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
