using Osiris.Shared.Contracts;

namespace Osiris.Api.Validation;

public static class RequestValidation
{
    /// <summary>
    /// Every handler argument of the group that is <see cref="IValidatable"/> (a body, or an <c>[AsParameters]</c>
    /// query) is checked before the handler runs; the first invalid one answers 400 with its errors as a validation
    /// problem. Which arguments to check is worked out once per endpoint, when it is built.
    /// </summary>
    public static RouteGroupBuilder ValidateRequests(this RouteGroupBuilder group)
    {
        group.AddEndpointFilterFactory(static (factory, next) =>
        {
            var checkedArguments = factory.MethodInfo.GetParameters()
                .Select((parameter, index) => (parameter, index))
                .Where(p => typeof(IValidatable).IsAssignableFrom(p.parameter.ParameterType))
                .Select(p => p.index)
                .ToArray();
            if (checkedArguments.Length == 0)
            {
                return next;
            }
            return async context =>
            {
                foreach (var index in checkedArguments)
                {
                    if (context.Arguments[index] is IValidatable request && request.Validate() is { Count: > 0 } errors)
                    {
                        return TypedResults.ValidationProblem(errors);
                    }
                }
                return await next(context);
            };
        });
        group.ProducesValidationProblem();
        return group;
    }
}
