using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Osiris.Api.Security;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.Streaming;

/// <summary>
/// Single-use stream tickets: a browser's <c>EventSource</c> cannot send an <c>Authorization</c> header, so a page asks
/// <c>POST /api/v1/stream/tickets</c> (with its credential) and opens <c>GET /api/v1/stream?ticket=…</c>. A ticket is
/// valid once, for 60 seconds, carries its owner's name and role, and is stored (hashed) so that any API replica
/// redeems it exactly once. The query string is never logged (see <c>Program.cs</c>'s logging and tracing setup).
/// </summary>
public static class StreamTickets
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    public static RouteGroupBuilder MapStreamTickets(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/stream").RequireRole(Policies.Viewer).WithTags("Stream");
        group.MapPost("/tickets", Create);
        return group;
    }

    public static bool IsStreamRequest(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && request.Path.Equals("/api/v1/stream", StringComparison.Ordinal);

    public static async Task<Ok<StreamTicket>> Create(ClaimsPrincipal user, OsirisDbContext db, TimeProvider time, CancellationToken ct)
    {
        var now = time.UtcNow();
        var ticket = AccessTokens.Base64Url(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var kind = user.FindFirstValue(OsirisAuthenticationHandler.KindClaim);
        db.StreamTickets.Add(new StreamTicketRecord
        {
            Hash = AccessTokens.Hash(ticket), Actor = user.Identity!.Name!, Role = user.FindFirstValue(ClaimTypes.Role)!,
            UserId = kind == "service" ? null : user.FindFirstValue(ClaimTypes.NameIdentifier), ExpiresAt = now + Lifetime,
            TokenId = Guid.TryParse(user.FindFirstValue(OsirisAuthenticationHandler.TokenIdClaim), out var tokenId) ? tokenId : null,
        });
        await db.SaveChangesAsync(ct); // spent tickets go an hour after they expire (RetentionService)
        return TypedResults.Ok(new StreamTicket(ticket, now + Lifetime));
    }

    /// <summary>Marks the ticket used, atomically (the conditional update is the replica-safe "exactly once"); null when it cannot be used.</summary>
    public static async Task<StreamTicketRecord?> RedeemAsync(OsirisDbContext db, string ticket, TimeProvider time, CancellationToken ct)
    {
        if (ticket.Length > 100)
        {
            return null;
        }
        var hash = AccessTokens.Hash(ticket);
        var now = time.UtcNow();
        var redeemed = await db.StreamTickets.Where(t => t.Hash == hash && t.UsedAt == null && t.ExpiresAt > now)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.UsedAt, now), ct);
        return redeemed == 1 ? await db.StreamTickets.AsNoTracking().SingleAsync(t => t.Hash == hash, ct) : null;
    }
}
