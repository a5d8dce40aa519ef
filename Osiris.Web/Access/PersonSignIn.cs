using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Osiris.Shared.Contracts;
using Osiris.Web.Api;

namespace Osiris.Web.Access;

/// <summary>The claims of a signed-in person's cookie: who, which role, and the API session that acts for them.</summary>
public static class PersonClaims
{
    public const string Token = "osiris:token";
    public const string Address = "osiris:address";
}

/// <summary>
/// Signs people in through the API (the web never opens the database): a password, or an ID token from single sign-on,
/// becomes an API session; the session goes into the person's sign-in cookie, which ends when the session does.
/// </summary>
public sealed class PersonSignIn(IHttpClientFactory factory, ServiceCredential service, ILogger<PersonSignIn> logger)
{
    /// <summary>The session, or the API's reason for refusing.</summary>
    public Task<(SessionDto? Session, string? Error)> WithPasswordAsync(string userName, string password, HttpContext http) =>
        PostAsync("/api/v1/auth/sign-in", new SignInRequest(userName, password), http);

    public Task<(SessionDto? Session, string? Error)> WithIdTokenAsync(string idToken, HttpContext http) =>
        PostAsync("/api/v1/auth/oidc", new OidcSignInRequest(idToken), http);

    /// <summary>
    /// As the web (its service key) on behalf of the person's address: the API counts sign-in attempts per person's
    /// address rather than per web app, and records where the person was.
    /// </summary>
    private async Task<(SessionDto?, string?)> PostAsync(string path, object body, HttpContext http)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body, body.GetType(), options: OsirisJson.Options) };
            await service.ApplyAsync(request);
            if (http.Connection.RemoteIpAddress is { } address)
            {
                request.Headers.Add("X-Forwarded-For", address.ToString());
            }
            using var response = await factory.CreateClient(OsirisApi.ClientName).SendAsync(request, http.RequestAborted);
            if (response.IsSuccessStatusCode)
            {
                return (await response.Content.ReadFromJsonAsync<SessionDto>(OsirisJson.Options, http.RequestAborted), null);
            }
            var failed = await ApiResult.ReadAsync(response, http.RequestAborted);
            return (null, response.StatusCode == HttpStatusCode.TooManyRequests ? "Too many sign-in attempts; wait a minute." : failed.Error);
        }
        catch (Exception e) when (OsirisApi.IsUnreachable(e))
        {
            logger.LogWarning(e, "Sign-in could not reach the API");
            return (null, OsirisApi.Unreachable(e));
        }
    }

    public static ClaimsPrincipal Principal(SessionDto session, HttpContext http) =>
        new(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, session.UserName), new Claim(ClaimTypes.Role, session.Role),
            new Claim(PersonClaims.Token, session.Token),
            new Claim(PersonClaims.Address, http.Connection.RemoteIpAddress?.ToString() ?? ""),
        ], CookieAuthenticationDefaults.AuthenticationScheme, ClaimTypes.Name, ClaimTypes.Role));

    /// <summary>The cookie ends with the API session: not renewed by use, so a person signs in again after it.</summary>
    public static AuthenticationProperties Properties(SessionDto session) => new() { ExpiresUtc = session.ExpiresAt, IsPersistent = false, AllowRefresh = false };

    public static async Task<ClaimsPrincipal> SignInAsync(HttpContext http, SessionDto session)
    {
        var principal = Principal(session, http);
        await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal, Properties(session));
        return principal;
    }
}
