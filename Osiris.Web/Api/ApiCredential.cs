using System.Net.Http.Headers;
using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Options;
using Osiris.Web.Access;

namespace Osiris.Web.Api;

/// <summary>What a call to the API carries to say who makes it.</summary>
public abstract class ApiCredential
{
    public abstract ValueTask ApplyAsync(HttpRequestMessage request);
}

/// <summary>The web's own viewer key: for the shared live view only (the stream, the task list, histories).</summary>
public sealed class ServiceCredential(IOptions<OsirisWebOptions> options) : ApiCredential
{
    public override ValueTask ApplyAsync(HttpRequestMessage request)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Value.ServiceKey);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The signed-in person's own session (from their sign-in cookie), per circuit: everything a person does reaches the
/// API under their name. The address they signed in from goes along as <c>X-Forwarded-For</c> for the audit trail.
/// </summary>
public sealed class PersonCredential(AuthenticationStateProvider authentication) : ApiCredential
{
    public override async ValueTask ApplyAsync(HttpRequestMessage request) =>
        Apply(request, (await authentication.GetAuthenticationStateAsync()).User);

    /// <summary>For endpoints outside components (sign-out), where the person is the request's user.</summary>
    public sealed class Of(ClaimsPrincipal user) : ApiCredential
    {
        public override ValueTask ApplyAsync(HttpRequestMessage request)
        {
            Apply(request, user);
            return ValueTask.CompletedTask;
        }
    }

    private static void Apply(HttpRequestMessage request, ClaimsPrincipal user)
    {
        if (user.FindFirstValue(PersonClaims.Token) is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (user.FindFirstValue(PersonClaims.Address) is { Length: > 0 } address)
        {
            request.Headers.Add("X-Forwarded-For", address);
        }
    }
}
