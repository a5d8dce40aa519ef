using System.Text.Json;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.Audit;

/// <summary>Records who changed what, when and from where, in the same save as the change itself.</summary>
public static class AuditLog
{
    /// <summary>Who made the request: a person's name, "name (token …)", "api-key" or the web's service identity.</summary>
    public static string Actor(HttpContext http) => http.User.Identity?.Name ?? "anonymous";

    /// <summary>
    /// The client's address as the API saw it, and the address it says it acts for (<c>X-Forwarded-For</c>: the web app
    /// passes the address its person signed in from). The second part is the caller's claim, recorded as such.
    /// </summary>
    public static string? Address(HttpContext http)
    {
        var remote = http.Connection.RemoteIpAddress?.ToString();
        var address = ForwardedFor(http) is { } forwarded ? $"{remote} for {forwarded}" : remote;
        return address is { Length: > 64 } ? address[..64] : address;
    }

    /// <summary>The first <c>X-Forwarded-For</c> address, as the caller claims it; null without one.</summary>
    public static string? ForwardedFor(HttpContext http) =>
        http.Request.Headers["X-Forwarded-For"].ToString().Split(',')[0].Trim() is { Length: > 0 } forwarded ? forwarded : null;

    public static void Add(OsirisDbContext db, TimeProvider time, HttpContext http, string action, string? target, object? details,
        string? actor = null) =>
        db.Audit.Add(new AuditRecord
        {
            At = time.UtcNow(), Actor = actor ?? Actor(http), Address = Address(http), Action = action, Target = target,
            Details = details is null ? null : JsonSerializer.Serialize(details, OsirisJson.Options),
        });
}
