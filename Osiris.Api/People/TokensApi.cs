using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Osiris.Api.Audit;
using Osiris.Api.Security;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.People;

/// <summary>
/// Personal access tokens (admin): for scripts and integrations. Owned by the admin who made them and never stronger
/// than the owner at the moment of use; shown once, stored hashed, with their last use.
/// </summary>
public static class TokensApi
{
    public static RouteGroupBuilder MapTokensApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/tokens").RequireRole(Policies.Admin).ValidateRequests().WithTags("People");
        group.MapPost("/", Create);
        group.MapGet("/", List);
        group.MapDelete("/{id:guid}", Revoke);
        return group;
    }

    public static async Task<Results<Created<CreatedToken>, ProblemHttpResult>> Create(CreateTokenRequest request, HttpContext http,
        ClaimsPrincipal me, OsirisDbContext db, TimeProvider time, CancellationToken ct)
    {
        // Only a person signed in (a session) makes tokens: a token cannot make more of itself, and the api-key is nobody.
        var owner = me.FindFirstValue(OsirisAuthenticationHandler.KindClaim) == AccessTokenKinds.Session
            ? await db.Users.SingleOrDefaultAsync(u => u.Id == me.FindFirstValue(ClaimTypes.NameIdentifier), ct)
            : null;
        if (owner is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Tokens belong to people",
                detail: "Sign in as a person (POST /api/v1/auth/sign-in) to make a token, so it has an owner; the api-key and tokens cannot make tokens.");
        }
        var now = time.UtcNow();
        var (record, secret) = AccessTokens.Issue(db, owner, AccessTokenKinds.Personal, request.Name.Trim(), request.Role, now,
            now.AddDays(request.ExpiresInDays));
        AuditLog.Add(db, time, http, AuditActions.TokenCreate, $"token:{record.Id}", new { record.Name, record.Role, record.ExpiresAt });
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/api/v1/tokens/{record.Id}", new CreatedToken(record.Id, record.Name, record.Role, record.ExpiresAt, secret));
    }

    public static async Task<Ok<List<TokenDto>>> List(OsirisDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await db.AccessTokens.AsNoTracking()
            .Where(t => t.Kind == AccessTokenKinds.Personal)
            .Join(db.Users, t => t.UserId, u => u.Id, (t, u) => new TokenDto(t.Id, t.Name, t.Role, u.UserName!, t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt))
            .ToListAsync(ct));

    public static async Task<Results<NoContent, ProblemHttpResult>> Revoke(Guid id, HttpContext http, OsirisDbContext db, TimeProvider time,
        CancellationToken ct)
    {
        var token = await db.AccessTokens.SingleOrDefaultAsync(t => t.Id == id && t.Kind == AccessTokenKinds.Personal, ct);
        if (token is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such token", detail: $"There is no personal access token {id}.");
        }
        token.RevokedAt ??= time.UtcNow();
        AuditLog.Add(db, time, http, AuditActions.TokenRevoke, $"token:{id}", new { token.Name });
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }
}
