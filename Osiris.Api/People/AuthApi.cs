using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Api.Audit;
using Osiris.Api.Security;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.People;

/// <summary>
/// Signing people in: with a password (ASP.NET Core Identity's hash and lockout), or with an ID token from the
/// configured OpenID Connect provider. Either way the answer is a short-lived session token for the API.
/// </summary>
public static class AuthApi
{
    public const string SignInLimit = "sign-in";
    public const string OidcLoginProvider = "oidc";

    public static RouteGroupBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var open = app.MapGroup("/api/v1/auth").AllowAnonymous().ValidateRequests().RequireRateLimiting(SignInLimit).WithTags("People");
        open.MapPost("/sign-in", SignIn);
        open.MapPost("/oidc", SignInWithOidc);

        var signedIn = app.MapGroup("/api/v1").RequireRole(Policies.Viewer).WithTags("People");
        signedIn.MapPost("/auth/sign-out", SignOut);
        signedIn.MapGet("/me", Me);
        return open;
    }

    /// <summary>
    /// Sign-in attempts per client address and minute (<c>Osiris:Auth:SignInPerMinute</c>). The web app signs everyone
    /// in from its one address; when it presents its service key, the person's address it forwards is the partition, so
    /// one guesser cannot use up everyone's sign-ins.
    /// </summary>
    public static void AddSignInLimit(Microsoft.AspNetCore.RateLimiting.RateLimiterOptions limiter) =>
        limiter.AddPolicy(SignInLimit, http => RateLimitPartition.GetFixedWindowLimiter(
            ClientOf(http),
            _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = http.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.SignInPerMinute,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            }));

    private static string ClientOf(HttpContext http) =>
        http.User.FindFirstValue(ClaimTypes.NameIdentifier) == ServiceNames.Web && AuditLog.ForwardedFor(http) is { } person
            ? $"web for {person}"
            : http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private const string WrongPassword = "The user name or password is wrong. (After 5 wrong passwords an account waits 5 minutes.)";

    /// <summary>Hashed once; an unknown name costs the same hashing time as a known one, so timing does not tell which names exist.</summary>
    private static readonly Lazy<(OsirisUser User, string Hash)> Decoy = new(() =>
    {
        var user = new OsirisUser { UserName = "decoy" };
        return (user, new PasswordHasher<OsirisUser>().HashPassword(user, UsersApi.GeneratePassword()));
    });

    public static async Task<Results<Ok<SessionDto>, ProblemHttpResult>> SignIn(SignInRequest request, HttpContext http,
        UserManager<OsirisUser> users, OsirisDbContext db, IOptions<AuthOptions> options, TimeProvider time, CancellationToken ct)
    {
        var user = await users.FindByNameAsync(request.UserName);
        if (user is null)
        {
            users.PasswordHasher.VerifyHashedPassword(Decoy.Value.User, Decoy.Value.Hash, request.Password);
        }
        if (user is not null && await users.IsLockedOutAsync(user))
        {
            users.PasswordHasher.VerifyHashedPassword(Decoy.Value.User, Decoy.Value.Hash, request.Password);
            return Refused(WrongPassword);
        }
        if (user is null || !await users.CheckPasswordAsync(user, request.Password))
        {
            if (user is not null)
            {
                await users.AccessFailedAsync(user);
            }
            // An unknown name is not recorded: people type passwords into the name field.
            AuditLog.Add(db, time, http, AuditActions.SignInFailed, user is null ? "user:(unknown)" : $"user:{user.UserName}", null, actor: "anonymous");
            await db.SaveChangesAsync(ct);
            return Refused(WrongPassword);
        }
        await users.ResetAccessFailedCountAsync(user);
        return TypedResults.Ok(await StartSessionAsync(db, http, user, time, options.Value, "password", ct));
    }

    public static async Task<Results<Ok<SessionDto>, ProblemHttpResult>> SignInWithOidc(OidcSignInRequest request, HttpContext http,
        OidcTokenValidator validator, UserManager<OsirisUser> users, OsirisDbContext db, IOptions<AuthOptions> options, TimeProvider time,
        ILoggerFactory loggers, CancellationToken ct)
    {
        if (!validator.Enabled)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Single sign-on is off",
                detail: "Set the AppHost parameters oidc-authority and oidc-client-id (Osiris:Auth:Oidc) to turn it on.");
        }
        var (identity, error) = await validator.ValidateAsync(request.IdToken, ct);
        if (identity is null)
        {
            loggers.CreateLogger("Osiris.Api.People.Oidc").LogWarning("Refused an ID token: {Reason}", error);
            return Refused($"The ID token was refused: {error}");
        }
        var subject = identity.FindFirst("sub")?.Value;
        var role = options.Value.Oidc.RoleFor(validator.RoleValues(identity));
        if (subject is null || role is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "No role for this person",
                detail: $"The provider signed the person in, but none of their '{options.Value.Oidc.RoleClaim}' values maps to a role (Osiris:Auth:Oidc:RoleMap).");
        }

        var user = await users.FindByLoginAsync(OidcLoginProvider, subject);
        if (user is null)
        {
            var name = PickName(identity, subject);
            user = new OsirisUser { UserName = await FreeNameAsync(users, name), Email = identity.FindFirst("email")?.Value, Role = role, CreatedAt = time.UtcNow() };
            var created = await users.CreateAsync(user);
            if (created.Succeeded)
            {
                created = await users.AddLoginAsync(user, new UserLoginInfo(OidcLoginProvider, subject, "OpenID Connect"));
            }
            if (!created.Succeeded)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Could not create the person",
                    detail: string.Join(" ", created.Errors.Select(e => e.Description)));
            }
            AuditLog.Add(db, time, http, AuditActions.UserCreate, $"user:{user.UserName}", new { role, via = "oidc" }, actor: user.UserName);
        }
        else if (user.Role != role)
        {
            // The provider's groups are the truth for SSO people: a change there applies at their next sign-in.
            AuditLog.Add(db, time, http, AuditActions.UserUpdate, $"user:{user.UserName}", new { role, was = user.Role, via = "oidc" }, actor: user.UserName);
            user.Role = role;
            await users.UpdateAsync(user);
        }
        return TypedResults.Ok(await StartSessionAsync(db, http, user, time, options.Value, "oidc", ct));
    }

    public static async Task<NoContent> SignOut(ClaimsPrincipal principal, OsirisDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (Guid.TryParse(principal.FindFirstValue(OsirisAuthenticationHandler.TokenIdClaim), out var id) &&
            principal.FindFirstValue(OsirisAuthenticationHandler.KindClaim) == AccessTokenKinds.Session)
        {
            var now = time.UtcNow();
            await db.AccessTokens.Where(t => t.Id == id && t.RevokedAt == null).ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), ct);
        }
        return TypedResults.NoContent();
    }

    public static Ok<MeDto> Me(ClaimsPrincipal principal) => TypedResults.Ok(new MeDto(
        principal.Identity!.Name!, principal.FindFirstValue(ClaimTypes.Role)!, principal.FindFirstValue(OsirisAuthenticationHandler.KindClaim)!));

    private static async Task<SessionDto> StartSessionAsync(OsirisDbContext db, HttpContext http, OsirisUser user, TimeProvider time,
        AuthOptions options, string via, CancellationToken ct)
    {
        var now = time.UtcNow();
        var expires = now + options.SessionLifetime;
        var (_, secret) = AccessTokens.Issue(db, user, AccessTokenKinds.Session, $"sign-in ({via})", user.Role, now, expires);
        AuditLog.Add(db, time, http, AuditActions.SignIn, $"user:{user.UserName}", new { via }, actor: user.UserName);
        await db.SaveChangesAsync(ct); // ended sessions go a week later (RetentionService)
        return new SessionDto(secret, expires, user.UserName!, user.Role);
    }

    private static ProblemHttpResult Refused(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in refused", detail: detail);

    private static string PickName(ClaimsIdentity identity, string subject)
    {
        var candidate = identity.FindFirst("preferred_username")?.Value ?? identity.FindFirst("email")?.Value ?? identity.FindFirst("name")?.Value ?? subject;
        var cleaned = new string(candidate.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@').ToArray());
        return cleaned.Length == 0 ? "sso-user" : cleaned[..Math.Min(cleaned.Length, UserNames.MaxLength - 4)];
    }

    private static async Task<string> FreeNameAsync(UserManager<OsirisUser> users, string name)
    {
        for (var n = 1; ; n++)
        {
            var candidate = n == 1 ? name : $"{name}-{n}";
            if (await users.FindByNameAsync(candidate) is null)
            {
                return candidate;
            }
        }
    }
}
