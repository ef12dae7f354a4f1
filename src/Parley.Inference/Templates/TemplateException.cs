namespace Parley.Inference.Templates;

/// <summary>
/// A chat template failed to parse or render: a syntax error (with its line), an undefined value
/// used where that is an error, a wrong type, or the template's own raise_exception(message).
/// </summary>
public sealed class TemplateException(string message, bool raisedByTemplate = false) : Exception(message)
{
    /// <summary>True when the template called raise_exception: the input broke the template's rules (a 400, not a 500).</summary>
    public bool RaisedByTemplate { get; } = raisedByTemplate;
}
