using System.Text.Json;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.Audit;

/// <summary>Records who changed what and when, in the same save as the change itself.</summary>
public static class AuditLog
{
    /// <summary>The web app names its signed-in person here; other API-key callers are "api-key".</summary>
    public const string ActorHeader = "X-Osiris-Actor";

    /// <summary>
    /// Who made the request. Until people have accounts of their own, every holder of the API key may act as an admin,
    /// and the name the web app passes is taken as given (it holds the key too).
    /// </summary>
    public static string Actor(HttpContext http) =>
        http.Request.Headers[ActorHeader].ToString() is { Length: > 0 and <= 100 } named ? $"{named} (via api-key)" : "api-key";

    public static void Add(OsirisDbContext db, TimeProvider time, HttpContext http, string action, string? target, object? details) =>
        db.Audit.Add(new AuditRecord
        {
            At = time.UtcNow(), Actor = Actor(http), Action = action, Target = target,
            Details = details is null ? null : JsonSerializer.Serialize(details, OsirisJson.Options),
        });
}
