using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.Security;

/// <summary>
/// Sign-in sessions and personal access tokens: 256 random bits behind a recognisable prefix (secret scanners find
/// <c>osr_</c>), stored only as SHA-256 — a fast hash is enough for a random secret of that size.
/// </summary>
public static class AccessTokens
{
    private const string Prefix = "osr_";

    public static bool LooksLikeToken(string presented) => presented.StartsWith(Prefix, StringComparison.Ordinal) && presented.Length < 200;

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>A fresh random secret with <paramref name="kind"/>'s prefix (<c>osr_ses_…</c>, <c>osr_pat_…</c>).</summary>
    public static string NewSecret(string kind) =>
        $"{Prefix}{(kind == AccessTokenKinds.Session ? "ses" : "pat")}_{Base64Url(RandomNumberGenerator.GetBytes(32))}";

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Stages a new token for <paramref name="user"/> (the caller saves) and returns its secret.</summary>
    public static (AccessTokenRecord Record, string Secret) Issue(OsirisDbContext db, OsirisUser user, string kind, string name, string role,
        DateTimeOffset now, DateTimeOffset expiresAt)
    {
        var secret = NewSecret(kind);
        var record = new AccessTokenRecord
        {
            Id = Guid.CreateVersion7(now), UserId = user.Id, Kind = kind, Name = name, Role = role, Hash = Hash(secret),
            CreatedAt = now, ExpiresAt = expiresAt,
        };
        db.AccessTokens.Add(record);
        return (record, secret);
    }

    /// <summary>
    /// The live token and its owner; null when unknown, expired or revoked. A lockout (failed password guesses) stops
    /// new sign-ins only: someone guessing a person's password must not end the sessions that person has open.
    /// </summary>
    public static async Task<(AccessTokenRecord Token, OsirisUser User)?> FindAsync(OsirisDbContext db, string presented, TimeProvider time,
        CancellationToken ct)
    {
        var hash = Hash(presented);
        var now = time.UtcNow();
        var found = await db.AccessTokens.AsNoTracking()
            .Where(t => t.Hash == hash)
            .Join(db.Users.AsNoTracking(), t => t.UserId, u => u.Id, (t, u) => new { Token = t, User = u })
            .SingleOrDefaultAsync(ct);
        if (found is null || found.Token.RevokedAt is not null || found.Token.ExpiresAt <= now)
        {
            return null;
        }
        // Last use is kept to the minute: one write a minute per token, not one per request.
        if (found.Token.LastUsedAt is not { } last || now - last > TimeSpan.FromMinutes(1))
        {
            await db.AccessTokens.Where(t => t.Id == found.Token.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedAt, now), ct);
        }
        return (found.Token, found.User);
    }

    /// <summary>Whether the token <paramref name="id"/> still stands: not revoked, not expired, its owner not removed.</summary>
    public static Task<bool> StandsAsync(OsirisDbContext db, Guid id, DateTimeOffset now, CancellationToken ct) =>
        db.AccessTokens.AnyAsync(t => t.Id == id && t.RevokedAt == null && t.ExpiresAt > now, ct);

    /// <summary>Revokes every live token of <paramref name="userId"/> (of one kind, or all): a new password, a new role, a removal.</summary>
    public static Task<int> RevokeAllAsync(OsirisDbContext db, string userId, DateTimeOffset now, CancellationToken ct, string? kind = null) =>
        db.AccessTokens.Where(t => t.UserId == userId && t.RevokedAt == null && (kind == null || t.Kind == kind))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), ct);
}
