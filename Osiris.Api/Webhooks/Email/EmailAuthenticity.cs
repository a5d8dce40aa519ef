using System.Text;
using MimeKit.Cryptography;

namespace Osiris.Api.Webhooks.Email;

/// <summary>
/// Whether an e-mail shows that its <c>From:</c> is genuine: an <c>Authentication-Results</c> header written by our
/// own receiving server (the configured authserv-id) with a pass that is aligned with the From domain — DKIM signed by
/// that domain (<c>header.d</c>), SPF for an envelope sender of that domain (<c>smtp.mailfrom</c>), or DMARC for it
/// (<c>header.from</c>). Alignment is strict (the same domain, not a parent or a subdomain). Anyone can write
/// <c>dkim=pass</c> into their own mail, and a pass for another domain proves nothing, so neither counts.
/// </summary>
public static class EmailAuthenticity
{
    public static bool IsAligned(IEnumerable<string> authenticationResults, string authServId, string fromAddress)
    {
        var fromDomain = DomainOf(fromAddress);
        if (authServId.Length == 0 || fromDomain is null)
        {
            return false;
        }
        foreach (var header in authenticationResults)
        {
            if (!AuthenticationResults.TryParse(Encoding.UTF8.GetBytes(header), out var results)
                || !string.Equals(results.AuthenticationServiceIdentifier, authServId, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            foreach (var result in results.Results.Where(r => string.Equals(r.Result, "pass", StringComparison.OrdinalIgnoreCase)))
            {
                string? Property(string type, string name) => result.Properties
                    .FirstOrDefault(p => string.Equals(p.PropertyType, type, StringComparison.OrdinalIgnoreCase)
                        && string.Equals(p.Property, name, StringComparison.OrdinalIgnoreCase))?.Value;
                var domain = result.Method.ToLowerInvariant() switch
                {
                    "dkim" => Property("header", "d") ?? DomainOf(Property("header", "i")),
                    "spf" => DomainOf(Property("smtp", "mailfrom")),
                    "dmarc" => Property("header", "from"),
                    _ => null,
                };
                if (domain is not null && string.Equals(domain.Trim().TrimEnd('.'), fromDomain, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>The domain of an address (<c>ana@example.com</c>), or the value itself when it is a bare domain.</summary>
    public static string? DomainOf(string? address)
    {
        if (string.IsNullOrWhiteSpace(address))
        {
            return null;
        }
        var at = address.LastIndexOf('@');
        var domain = (at >= 0 ? address[(at + 1)..] : address).Trim().Trim('<', '>').TrimEnd('.');
        return domain.Length > 0 && domain.Contains('.') ? domain.ToLowerInvariant() : null;
    }
}
