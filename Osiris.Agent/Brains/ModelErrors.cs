using System.ClientModel;
using System.Globalization;
using System.Net;

namespace Osiris.Agent.Brains;

/// <summary>
/// Reads a failed model call: whether trying again can help (429, 5xx, a dropped connection, a cut stream, a timeout)
/// and how long the provider asked us to wait (<c>Retry-After</c>, <c>retry-after-ms</c>, Gemini's <c>RetryInfo</c>).
/// A 400 is never retried as it was: the same request would be refused the same way.
/// </summary>
public static class ModelErrors
{
    /// <summary>The <c>Exception.Data</c> key under which provider clients put the delay the provider asked for.</summary>
    public const string RetryAfterKey = "osiris.retry-after";

    public static bool IsTransient(Exception exception) => exception switch
    {
        ModelTimeoutException => true,
        HttpRequestException { StatusCode: null } => true,
        HttpRequestException { StatusCode: { } status } => Transient((int)status),
        ClientResultException { Status: 0 } => true,
        ClientResultException result => Transient(result.Status),
        IOException => true,
        _ => false,
    };

    /// <summary>HTTP status of the failure, when there was one.</summary>
    public static int? Status(Exception exception) => exception switch
    {
        HttpRequestException { StatusCode: { } status } => (int)status,
        ClientResultException { Status: > 0 } result => result.Status,
        _ => null,
    };

    public static TimeSpan? RetryAfter(Exception exception)
    {
        if (exception.Data[RetryAfterKey] is TimeSpan asked)
        {
            return asked;
        }
        if (exception is ClientResultException result && result.GetRawResponse() is { } response)
        {
            if (response.Headers.TryGetValue("retry-after-ms", out var ms) && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var millis))
            {
                return TimeSpan.FromMilliseconds(millis);
            }
            if (response.Headers.TryGetValue("Retry-After", out var value))
            {
                if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
                {
                    return TimeSpan.FromSeconds(seconds);
                }
                if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                {
                    return at - DateTimeOffset.UtcNow;
                }
            }
        }
        return null;
    }

    private static bool Transient(int status) =>
        status is (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.Conflict or (int)HttpStatusCode.TooManyRequests or >= 500;
}

/// <summary>A model went silent for longer than <c>Agent:ModelIdleTimeoutSeconds</c>, or its turn took too long: retryable, not a cancel.</summary>
public sealed class ModelTimeoutException(string message) : TimeoutException(message);
