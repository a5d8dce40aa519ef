using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Osiris.Api.Streaming;

/// <summary>
/// At most <see cref="StreamOptions.MaxStreamsPerKey"/> open streams per identity (ASP.NET Core's concurrency
/// limiter, partitioned by who the credential belongs to; a stream holds its permit while it is open). One leaked key or
/// a runaway client cannot hold every connection of a replica; beyond the cap a clear 429 says why.
/// </summary>
public static class StreamLimits
{
    public const string Policy = "streams-per-key";

    public static IServiceCollection AddStreamLimits(this IServiceCollection services) =>
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(Policy, http =>
            {
                var max = http.RequestServices.GetRequiredService<IOptions<StreamOptions>>().Value.MaxStreamsPerKey;
                return RateLimitPartition.GetConcurrencyLimiter(CredentialOf(http),
                    _ => new ConcurrencyLimiterOptions { PermitLimit = max, QueueLimit = 0 });
            });
            limiter.OnRejected = async (context, ct) =>
            {
                var http = context.HttpContext;
                var isStream = http.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName == Policy;
                var options = http.RequestServices.GetRequiredService<IOptions<StreamOptions>>().Value;
                http.Response.Headers.RetryAfter = isStream ? Math.Max(1, options.RetryMilliseconds / 1000).ToString(CultureInfo.InvariantCulture) : "60";
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails = isStream
                        ? new ProblemDetails
                        {
                            Status = StatusCodes.Status429TooManyRequests,
                            Title = "Too many open streams",
                            Detail = $"This credential already has {options.MaxStreamsPerKey} streams open (Osiris:Stream:MaxStreamsPerKey). " +
                                     "Close one, or share one stream between views as the web workbench does.",
                        }
                        : new ProblemDetails
                        {
                            Status = StatusCodes.Status429TooManyRequests,
                            Title = "Too many sign-in attempts",
                            Detail = "Too many sign-in attempts from this address (Osiris:Auth:SignInPerMinute); wait a minute.",
                        },
                });
            };
            People.AuthApi.AddSignInLimit(limiter);
        });

    /// <summary>Who the stream is for (authentication runs first): a person, a token's owner, a service. Tickets count for their owner.</summary>
    private static string CredentialOf(HttpContext http) =>
        http.User.FindFirst(System.Security.Claims.ClaimTypes.NameIdentifier)?.Value ?? "anonymous";
}
