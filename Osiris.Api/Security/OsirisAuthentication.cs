using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.Security;

/// <summary>
/// The API's one authentication scheme. A request proves who it is with <c>Authorization: Bearer …</c> carrying
/// <list type="bullet">
/// <item>the <c>api-key</c> (the AppHost's admin service key: scripts that worked before people had accounts keep working),</item>
/// <item>the web app's service key (<c>Osiris:Auth:WebServiceKey</c>: a viewer, for the web's one shared live view),</item>
/// <item>a sign-in session or personal access token (<c>osr_…</c>, looked up by its SHA-256 in <c>access_tokens</c>),</item>
/// </list>
/// or, on <c>GET /api/v1/stream</c> only, with a single-use <c>?ticket=</c> (see <see cref="Streaming.StreamTickets"/>).
/// </summary>
public sealed class OsirisAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    IOptions<ApiKeyOptions> apiKey, IOptions<AuthOptions> auth, TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Osiris";
    public const string KindClaim = "osiris:kind";
    public const string TokenIdClaim = "osiris:token";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var presented = header["Bearer ".Length..].Trim();
            var presentedHash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
            if (Matches(presentedHash, apiKey.Value.ApiKey))
            {
                return Success(Principal(ServiceNames.ApiKey, ServiceNames.ApiKey, Roles.Admin, "service"));
            }
            if (Matches(presentedHash, auth.Value.WebServiceKey))
            {
                return Success(Principal(ServiceNames.Web, ServiceNames.Web, Roles.Viewer, "service"));
            }
            if (AccessTokens.LooksLikeToken(presented) && await AccessTokens.FindAsync(Db, presented, time, Context.RequestAborted) is { } found)
            {
                var (token, user) = found;
                var name = token.Kind == AccessTokenKinds.Personal ? $"{user.UserName} (token {token.Name})" : user.UserName!;
                return Success(WithToken(Principal(user.Id, name, Roles.Min(token.Role, user.Role), token.Kind), token.Id));
            }
            return AuthenticateResult.Fail("The bearer token is not valid, has expired or was revoked.");
        }
        if (Streaming.StreamTickets.IsStreamRequest(Request) && Request.Query["ticket"].ToString() is { Length: > 0 } ticket)
        {
            return await Streaming.StreamTickets.RedeemAsync(Db, ticket, time, Context.RequestAborted) is { } owner
                ? Success(WithToken(Principal(owner.UserId ?? owner.Actor, owner.Actor, owner.Role, "ticket"), owner.TokenId))
                : AuthenticateResult.Fail("The stream ticket is not valid: tickets are single-use and expire after 60 seconds. Ask POST /api/v1/stream/tickets for a new one.");
        }
        return AuthenticateResult.NoResult();
    }

    private OsirisDbContext Db => Context.RequestServices.GetRequiredService<OsirisDbContext>();

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.Headers.WWWAuthenticate = "Bearer";
        await WriteProblemAsync(StatusCodes.Status401Unauthorized, "Unauthorized",
            result.Failure?.Message ?? "Send 'Authorization: Bearer <token>': a personal access token, a session from POST /api/v1/auth/sign-in, or the api-key.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status403Forbidden, "Forbidden",
            $"{Context.User.Identity?.Name} has the role '{Context.User.FindFirstValue(ClaimTypes.Role)}', which may not do this.");

    private Task WriteProblemAsync(int status, string title, string detail)
    {
        Response.StatusCode = status;
        return Context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        }).AsTask();
    }

    private static ClaimsPrincipal Principal(string id, string name, string role, string kind) =>
        new(new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, id), new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role), new Claim(KindClaim, kind)],
            SchemeName, ClaimTypes.Name, ClaimTypes.Role));

    /// <summary>Names the token a credential rests on (a ticket: the token it was asked for with), so a stream can outlive it no longer.</summary>
    private static ClaimsPrincipal WithToken(ClaimsPrincipal principal, Guid? tokenId)
    {
        if (tokenId is { } id)
        {
            ((ClaimsIdentity)principal.Identity!).AddClaim(new Claim(TokenIdClaim, id.ToString()));
        }
        return principal;
    }

    private AuthenticateResult Success(ClaimsPrincipal principal) => AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));

    /// <summary>Constant time over hashes, so neither the content nor the length of a key leaks by timing.</summary>
    private static bool Matches(byte[] presentedHash, string? expected) =>
        !string.IsNullOrEmpty(expected) &&
        CryptographicOperations.FixedTimeEquals(presentedHash, SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}

/// <summary>The names service credentials act under in the audit trail.</summary>
public static class ServiceNames
{
    public const string ApiKey = "api-key";
    public const string Web = "web (service)";
}

/// <summary>One policy per role; each route group names the least role its endpoints need.</summary>
public static class Policies
{
    public const string Viewer = Roles.Viewer;
    public const string Operator = Roles.Operator;
    public const string Admin = Roles.Admin;

    public static RouteGroupBuilder RequireRole(this RouteGroupBuilder group, string policy) => group.RequireAuthorization(policy);

    public static RouteHandlerBuilder RequireRole(this RouteHandlerBuilder endpoint, string policy) => endpoint.RequireAuthorization(policy);
}

/// <summary><c>Osiris:ApiKey</c>, set by the AppHost from its secret parameter <c>api-key</c>.</summary>
public sealed class ApiKeyOptions
{
    public const string Section = "Osiris";

    [System.ComponentModel.DataAnnotations.Required, System.ComponentModel.DataAnnotations.MinLength(16)]
    public string ApiKey { get; set; } = "";
}

public static class AuthenticationExtensions
{
    public static IServiceCollection AddOsirisAuthentication(this IServiceCollection services)
    {
        services.AddOptions<ApiKeyOptions>().BindConfiguration(ApiKeyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddAuthentication(OsirisAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, OsirisAuthenticationHandler>(OsirisAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Viewer, p => p.RequireRole(Roles.Viewer, Roles.Operator, Roles.Admin))
            .AddPolicy(Policies.Operator, p => p.RequireRole(Roles.Operator, Roles.Admin))
            .AddPolicy(Policies.Admin, p => p.RequireRole(Roles.Admin))
            // An endpoint someone forgot to give a policy is closed to everyone rather than open to anyone.
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireRole(Roles.Admin).Build());

        services.AddIdentityCore<OsirisUser>(identity =>
            {
                identity.User.AllowedUserNameCharacters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-";
                identity.Password.RequiredLength = 12;
                identity.Password.RequireNonAlphanumeric = false;
                identity.Password.RequireUppercase = false;
                identity.Password.RequireLowercase = false;
                identity.Password.RequireDigit = false;
                identity.Lockout.AllowedForNewUsers = true;
                identity.Lockout.MaxFailedAccessAttempts = 5;
                identity.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(5);
            })
            .AddEntityFrameworkStores<OsirisDbContext>();
        services.AddSingleton<OidcTokenValidator>();
        return services;
    }
}
