using Microsoft.AspNetCore.Diagnostics;
using Osiris.Shared.Storage;

namespace Osiris.Api;

/// <summary>
/// While the database is unreachable (restarting, failing over), a request that needed it gets 503 with
/// <c>Retry-After</c> and a problem body, never 200 for something not stored and never a bare 500: Meta and Mailgun
/// deliver a webhook again after an error, and so can any client.
/// </summary>
public sealed class DatabaseUnavailableHandler(IProblemDetailsService problems, ILogger<DatabaseUnavailableHandler> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (!DbErrors.IsUnavailable(exception) || http.Response.HasStarted)
        {
            return false;
        }
        logger.LogWarning("{Method} {Path}: the database is unavailable ({Error}); answered 503", http.Request.Method, http.Request.Path, exception.Message);
        http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Storage unavailable",
                Detail = $"The database cannot be reached right now; nothing of this request was stored. Try again in {RetryAfterSeconds} s.",
            },
        });
    }
}
