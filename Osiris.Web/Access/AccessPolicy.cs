using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Osiris.Web.Api;

namespace Osiris.Web.Access;

/// <summary>
/// Loopback needs no sign-in; an app that listens beyond loopback (0.0.0.0, *, a LAN address) asks for the
/// <c>web-password</c> secret. <c>Osiris:RequireSignIn</c> overrides the decision either way.
/// </summary>
public sealed class AccessPolicy(IServer server, IOptions<OsirisWebOptions> options)
{
    private bool? _required;

    /// <summary>Decided on the first request, when the server's addresses are known.</summary>
    public bool SignInRequired => _required ??= options.Value.RequireSignIn
        ?? ListensBeyondLoopback(server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);

    public bool PasswordConfigured => !string.IsNullOrEmpty(options.Value.WebPassword);

    public static bool ListensBeyondLoopback(IEnumerable<string> addresses) => addresses.Any(address =>
    {
        var host = BindingAddress.Parse(address).Host.Trim('[', ']');
        return !(host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    });

    /// <summary>Constant-time comparison of hashes, so neither the content nor the length of the secret leaks by timing.</summary>
    public bool Verify(string? password) =>
        PasswordConfigured && password is not null &&
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(password)), SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.WebPassword!)));
}
