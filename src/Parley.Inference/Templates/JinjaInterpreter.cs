using System.Text;

namespace Parley.Inference.Templates;

/// <summary>Variables visible at one point of a render; loops and macros open child scopes, if-blocks do not.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);

    public bool TryGet(string name, out object? value)
    {
        for (var s = this; s != null; s = s.Parent)
        {
            if (s._vars.TryGetValue(name, out value)) return true;
        }

        value = null;
        return false;
    }

    public Scope? Parent { get; } = parent;

    public void Set(string name, object? value) => _vars[name] = value;
}

/// <summary>Walks the parsed template and writes its output, with Jinja2's (and Python's) semantics.</summary>
internal sealed partial class JinjaInterpreter
{
    private enum Flow
    {
        Normal,
        Break,
        Continue,
    }

    private int _depth;

    public string Render(List<Stmt> template, Scope globals)
    {
        var sb = new StringBuilder();
        Exec(template, new Scope(globals), sb);
        return sb.ToString();
    }

    private Flow Exec(List<Stmt> body, Scope scope, StringBuilder sb)
    {
        foreach (var stmt in body)
        {
            var flow = Exec(stmt, scope, sb);
            if (flow != Flow.Normal) return flow;
        }

        return Flow.Normal;
    }

    private Flow Exec(Stmt stmt, Scope scope, StringBuilder sb)
    {
        switch (stmt)
        {
            case TextStmt t:
                sb.Append(t.Text);
                return Flow.Normal;
            case OutputStmt o:
                sb.Append(Py.Str(Eval(o.Value, scope)));
                return Flow.Normal;
            case IfStmt i:
                foreach (var (test, branch) in i.Branches)
                {
                    if (Py.Truthy(Eval(test, scope))) return Exec(branch, scope, sb);
                }

                return i.Else is null ? Flow.Normal : Exec(i.Else, scope, sb);
            case ForStmt f:
                ExecFor(f, Eval(f.Iterable, scope), scope, sb, 1);
                return Flow.Normal;
            case SetStmt s:
                ExecSet(s, scope);
                return Flow.Normal;
            case MacroStmt m:
                scope.Set(m.Name, MakeMacro(m.Name, m.Params, m.Body, scope));
                return Flow.Normal;
            case CallBlockStmt c:
                {
                    var caller = MakeMacro("caller", c.Params, c.Body, scope);
                    var target = Eval(c.Call.Target, scope);
                    var (args, kwargs) = EvalArgs(c.Call.Args, c.Call.Kwargs, scope);
                    kwargs["caller"] = caller;
                    sb.Append(Py.Str(CallValue(target, args, kwargs)));
                    return Flow.Normal;
                }

            case FilterBlockStmt fb:
                {
                    var inner = new StringBuilder();
                    Exec(fb.Body, scope, inner);
                    sb.Append(Py.Str(ApplyFilterChain(fb.Filter, inner.ToString(), scope)));
                    return Flow.Normal;
                }

            case DoStmt d:
                Eval(d.Value, scope);
                return Flow.Normal;
            case LoopControlStmt lc:
                return lc.IsBreak ? Flow.Break : Flow.Continue;
            case GenerationStmt g:
                return Exec(g.Body, scope, sb);
            default:
                throw new TemplateException($"unsupported statement {stmt.GetType().Name}");
        }
    }

    private object? ApplyFilterChain(FilterExpr f, object? input, Scope scope)
    {
        object? target = f.Target is FilterExpr inner ? ApplyFilterChain(inner, input, scope) : input;
        var (args, kwargs) = EvalArgs(f.Args, f.Kwargs, scope);
        return ApplyFilter(f.Name, target, args, kwargs, f.Line);
    }

    private void ExecFor(ForStmt f, object? iterable, Scope scope, StringBuilder sb, int depth)
    {
        var items = Iterate(iterable, f.Line).ToList();
        if (f.Filter != null)
        {
            items = items.Where(item =>
            {
                var probe = new Scope(scope);
                Bind(f.Targets, item, probe, f.Line);
                return Py.Truthy(Eval(f.Filter, probe));
            }).ToList();
        }

        if (items.Count == 0)
        {
            if (f.Else != null) Exec(f.Else, scope, sb);
            return;
        }

        Func<object?, object?>? recurse = null;
        if (f.Recursive)
        {
            recurse = sub =>
            {
                var inner = new StringBuilder();
                ExecFor(f, sub, scope, inner, depth + 1);
                return inner.ToString();
            };
        }

        var loop = new LoopInfo(items, depth, recurse);
        for (int i = 0; i < items.Count; i++)
        {
            loop.Index0 = i;
            var body = new Scope(scope);
            body.Set("loop", loop);
            Bind(f.Targets, items[i], body, f.Line);
            if (Exec(f.Body, body, sb) == Flow.Break) break;
        }
    }

    private static void Bind(List<string> targets, object? value, Scope scope, int line)
    {
        if (targets.Count == 1)
        {
            scope.Set(targets[0], value);
            return;
        }

        var parts = value as List<object?> ?? throw new TemplateException($"TypeError at line {line}: cannot unpack {Py.TypeName(value)} into {targets.Count} names");
        if (parts.Count != targets.Count) throw new TemplateException($"ValueError at line {line}: expected {targets.Count} values to unpack, found {parts.Count}");
        for (int i = 0; i < targets.Count; i++) scope.Set(targets[i], parts[i]);
    }

    private void ExecSet(SetStmt s, Scope scope)
    {
        object? value;
        if (s.Value is null)
        {
            var inner = new StringBuilder();
            Exec(s.Body!, scope, inner);
            value = inner.ToString();
        }
        else
        {
            value = Eval(s.Value, scope);
        }

        if (s.Attribute != null)
        {
            if (!scope.TryGet(s.Targets[0], out var target) || target is not Namespace ns)
            {
                throw new TemplateException($"TemplateRuntimeError at line {s.Line}: cannot assign attribute on non-namespace object");
            }

            ns.Values[s.Attribute] = value;
            return;
        }

        Bind(s.Targets, value, scope, s.Line);
    }

    private JinjaFunction MakeMacro(string name, List<(string Name, Expr? Default)> ps, List<Stmt> body, Scope defined)
    {
        return new JinjaFunction(name, (args, kwargs) =>
        {
            if (++_depth > 100) throw new TemplateException("RecursionError: macros nested too deeply");
            try
            {
                var scope = new Scope(defined);
                for (int i = 0; i < ps.Count; i++)
                {
                    var (pname, def) = ps[i];
                    if (i < args.Count) scope.Set(pname, args[i]);
                    else if (kwargs.TryGetValue(pname, out var kv)) scope.Set(pname, kv);
                    else scope.Set(pname, def is null ? new Undefined($"'{pname}'") : Eval(def, scope));
                }

                if (kwargs.TryGetValue("caller", out var caller)) scope.Set("caller", caller);
                scope.Set("varargs", args.Skip(ps.Count).ToList());
                var sb = new StringBuilder();
                Exec(body, scope, sb);
                return sb.ToString();
            }
            finally
            {
                _depth--;
            }
        });
    }

    private (List<object?>, Dictionary<string, object?>) EvalArgs(List<Expr> args, List<(string Name, Expr Value)> kwargs, Scope scope)
    {
        var a = args.Select(e => Eval(e, scope)).ToList();
        var k = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in kwargs) k[name] = Eval(value, scope);
        return (a, k);
    }

    private static object? CallValue(object? target, List<object?> args, Dictionary<string, object?> kwargs) => target switch
    {
        JinjaFunction f => f.Invoke(args, kwargs),
        Undefined u => throw u.Error(),
        _ => throw new TemplateException($"TypeError: '{Py.TypeName(target)}' object is not callable"),
    };

    public object? Eval(Expr e, Scope scope)
    {
        switch (e)
        {
            case Literal l:
                return l.Value;
            case NameExpr n:
                return scope.TryGet(n.Name, out var v) ? v : new Undefined($"'{n.Name}'");
            case ListExpr l:
                return l.Items.Select(i => Eval(i, scope)).ToList();
            case TupleExpr t:
                return t.Items.Select(i => Eval(i, scope)).ToList();
            case DictExpr d:
                {
                    var dict = new JinjaDict();
                    foreach (var (k, val) in d.Pairs) dict[JinjaDict.Hashable(Eval(k, scope))] = Eval(val, scope);
                    return dict;
                }

            case GetAttr g:
                return GetAttribute(Eval(g.Target, scope), g.Name);
            case GetItem g when g.Index is SliceExpr s:
                return Slice(Eval(g.Target, scope), s.Start is null ? null : Eval(s.Start, scope), s.Stop is null ? null : Eval(s.Stop, scope), s.Step is null ? null : Eval(s.Step, scope));
            case GetItem g:
                return GetItemValue(Eval(g.Target, scope), Eval(g.Index, scope));
            case CallExpr c:
                {
                    var target = Eval(c.Target, scope);
                    var (args, kwargs) = EvalArgs(c.Args, c.Kwargs, scope);
                    return CallValue(target, args, kwargs);
                }

            case FilterExpr f:
                {
                    var target = Eval(f.Target, scope);
                    var (args, kwargs) = EvalArgs(f.Args, f.Kwargs, scope);
                    return ApplyFilter(f.Name, target, args, kwargs, f.Line);
                }

            case TestExpr t:
                {
                    var target = Eval(t.Target, scope);
                    var args = t.Args.Select(a => Eval(a, scope)).ToList();
                    return ApplyTest(t.Name, target, args, t.Line) != t.Negated;
                }

            case UnaryExpr u:
                {
                    var x = Eval(u.Operand, scope);
                    return u.Op switch
                    {
                        "not" => !Py.Truthy(x),
                        "-" => x switch
                        {
                            long l => (object)-l,
                            double dd => -dd,
                            Undefined und => throw und.Error(),
                            _ => throw new TemplateException($"TypeError: bad operand type for unary -: '{Py.TypeName(x)}'"),
                        },
                        _ => x,
                    };
                }

            case BinaryExpr b:
                return EvalBinary(b, scope);
            case CondExpr c:
                return Py.Truthy(Eval(c.Test, scope)) ? Eval(c.Then, scope) : c.Else is null ? new Undefined("the else branch") : Eval(c.Else, scope);
            default:
                throw new TemplateException($"unsupported expression {e.GetType().Name}");
        }
    }

    private object? EvalBinary(BinaryExpr b, Scope scope)
    {
        if (b.Op == "and")
        {
            var l = Eval(b.Left, scope);
            return Py.Truthy(l) ? Eval(b.Right, scope) : l;
        }

        if (b.Op == "or")
        {
            var l = Eval(b.Left, scope);
            return Py.Truthy(l) ? l : Eval(b.Right, scope);
        }

        var a = Eval(b.Left, scope);
        var c = Eval(b.Right, scope);
        switch (b.Op)
        {
            case "==": return Py.Equals(a, c);
            case "!=": return !Py.Equals(a, c);
            case "<": return Py.Compare(Defined(a), Defined(c)) < 0;
            case ">": return Py.Compare(Defined(a), Defined(c)) > 0;
            case "<=": return Py.Compare(Defined(a), Defined(c)) <= 0;
            case ">=": return Py.Compare(Defined(a), Defined(c)) >= 0;
            case "in": return Contains(c, a);
            case "not in": return !Contains(c, a);
            case "~": return Py.Str(a) + Py.Str(c);
        }

        a = Defined(a);
        c = Defined(c);
        switch (b.Op)
        {
            case "+":
                if (a is string sa && c is string sc) return sa + sc;
                if (a is List<object?> la && c is List<object?> lc) return la.Concat(lc).ToList();
                return Arithmetic(a, c, b.Op, (x, y) => x + y, (x, y) => x + y);
            case "-":
                return Arithmetic(a, c, b.Op, (x, y) => x - y, (x, y) => x - y);
            case "*":
                if (a is string s && c is long n) return n <= 0 ? "" : new StringBuilder().Insert(0, s, (int)n).ToString();
                if (a is List<object?> list && c is long m) return Enumerable.Repeat(list, (int)Math.Max(0, m)).SelectMany(x => x).ToList();
                return Arithmetic(a, c, b.Op, (x, y) => x * y, (x, y) => x * y);
            case "/":
                return Py.ToDouble(c) == 0 ? throw new TemplateException("ZeroDivisionError: division by zero") : Py.ToDouble(a) / Py.ToDouble(c);
            case "//":
                if (Py.ToDouble(c) == 0) throw new TemplateException("ZeroDivisionError: integer division or modulo by zero");
                return Arithmetic(a, c, b.Op, (x, y) => (long)Math.Floor((double)x / y), (x, y) => Math.Floor(x / y));
            case "%":
                if (a is string fmt) return PercentFormat(fmt, c);
                if (Py.ToDouble(c) == 0) throw new TemplateException("ZeroDivisionError: integer division or modulo by zero");
                return Arithmetic(a, c, b.Op, (x, y) => ((x % y) + y) % y, (x, y) => x - y * Math.Floor(x / y));
            case "**":
                return Arithmetic(a, c, b.Op, (x, y) => y >= 0 ? (long)Math.Pow(x, y) : throw new TemplateException("negative integer powers are not supported"), Math.Pow);
            default:
                throw new TemplateException($"unsupported operator {b.Op}");
        }
    }

    private static object? Defined(object? v) => v is Undefined u ? throw u.Error() : v;

    private static object Arithmetic(object? a, object? b, string op, Func<long, long, long> ints, Func<double, double, double> floats)
    {
        if (!Py.IsNumber(a) || !Py.IsNumber(b))
        {
            throw new TemplateException($"TypeError: unsupported operand type(s) for {op}: '{Py.TypeName(a)}' and '{Py.TypeName(b)}'");
        }

        if (a is double || b is double) return floats(Py.ToDouble(a), Py.ToDouble(b));
        return ints(a is bool ba ? (ba ? 1 : 0) : (long)a!, b is bool bb ? (bb ? 1 : 0) : (long)b!);
    }

    private static string PercentFormat(string fmt, object? args)
    {
        var values = args as List<object?> ?? [args];
        var sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < fmt.Length; i++)
        {
            if (fmt[i] != '%' || i + 1 >= fmt.Length)
            {
                sb.Append(fmt[i]);
                continue;
            }

            char spec = fmt[++i];
            if (spec == '%')
            {
                sb.Append('%');
                continue;
            }

            var v = next < values.Count ? values[next++] : throw new TemplateException("TypeError: not enough arguments for format string");
            sb.Append(spec switch
            {
                'd' or 'i' => ((long)Py.ToDouble(v)).ToString(System.Globalization.CultureInfo.InvariantCulture),
                'r' => Py.Repr(v),
                _ => Py.Str(v),
            });
        }

        return sb.ToString();
    }

    private static bool Contains(object? container, object? item) => container switch
    {
        string s => item is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw new TemplateException($"TypeError: 'in <string>' requires string as left operand, not {Py.TypeName(item)}"),
        List<object?> l => l.Any(x => Py.Equals(x, item)),
        JinjaDict d => JinjaDict.IsHashable(item) && d.ContainsKey(item!),
        Namespace ns => item is string k2 && ns.Values.ContainsKey(k2),
        Undefined or null => container is null ? throw new TemplateException("TypeError: argument of type 'NoneType' is not iterable") : false,
        _ => throw new TemplateException($"TypeError: argument of type '{Py.TypeName(container)}' is not iterable"),
    };

    public static IEnumerable<object?> Iterate(object? v, int line) => v switch
    {
        List<object?> l => l,
        JinjaDict d => d.Keys.Cast<object?>(),
        string s => StringChars(s),
        Undefined => [],
        Namespace ns => ns.Values.Keys.Cast<object?>(),
        _ => throw new TemplateException($"TypeError at line {line}: '{Py.TypeName(v)}' object is not iterable"),
    };

    private static IEnumerable<object?> StringChars(string s)
    {
        for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1) yield return char.IsSurrogatePair(s, i) ? s.Substring(i, 2) : s[i].ToString();
    }

    private static object? GetItemValue(object? target, object? key)
    {
        switch (target)
        {
            case JinjaDict d:
                if (JinjaDict.IsHashable(key) && d.TryGetValue(key!, out var v)) return v;
                return key is string name ? (object?)GetMethod(target, name) ?? new Undefined($"'dict object' has no attribute '{name}'") : new Undefined($"'dict object' has no attribute {Py.Repr(key)}");
            case List<object?> l when key is long or bool:
                {
                    long i = key is bool b ? (b ? 1 : 0) : (long)key;
                    if (i < 0) i += l.Count;
                    return i >= 0 && i < l.Count ? l[(int)i] : new Undefined($"'list object' has no element {key}");
                }

            case string s when key is long idx:
                {
                    var chars = StringChars(s).ToList();
                    if (idx < 0) idx += chars.Count;
                    return idx >= 0 && idx < chars.Count ? chars[(int)idx] : new Undefined($"'str object' has no element {idx}");
                }

            case Namespace ns when key is string nk:
                return ns.Values.TryGetValue(nk, out var nv) ? nv : new Undefined($"'Namespace object' has no attribute '{nk}'");
            case LoopInfo loop when key is string lk:
                return loop.Get(lk);
            case Undefined u:
                throw u.Error();
            case null:
                return new Undefined($"'None' has no attribute {Py.Repr(key)}");
            default:
                return key is string attr ? GetAttribute(target, attr) : new Undefined($"'{Py.TypeName(target)} object' has no element {Py.Repr(key)}");
        }
    }

    private static object? GetAttribute(object? target, string name)
    {
        switch (target)
        {
            case Undefined u:
                throw u.Error();
            case LoopInfo loop:
                return loop.Get(name);
            case Namespace ns:
                return ns.Values.TryGetValue(name, out var nv) ? nv : new Undefined($"'Namespace object' has no attribute '{name}'");
            case JinjaDict d:
                return (object?)GetMethod(target, name) ?? (d.TryGetValue(name, out var v) ? v : new Undefined($"'dict object' has no attribute '{name}'"));
            default:
                return (object?)GetMethod(target, name) ?? new Undefined($"'{Py.TypeName(target)} object' has no attribute '{name}'");
        }
    }

    private static object? Slice(object? target, object? start, object? stop, object? step)
    {
        if (target is Undefined u) throw u.Error();
        List<object?> items = target switch
        {
            List<object?> l => l,
            string s => StringChars(s).ToList(),
            _ => throw new TemplateException($"TypeError: '{Py.TypeName(target)}' object is not subscriptable"),
        };
        long n = items.Count;
        long st = step is null ? 1 : (long)Py.ToDouble(step);
        if (st == 0) throw new TemplateException("ValueError: slice step cannot be zero");
        long Norm(object? v, long dflt)
        {
            if (v is null) return dflt;
            long i = (long)Py.ToDouble(v);
            if (i < 0) i += n;
            return st > 0 ? Math.Clamp(i, 0, n) : Math.Clamp(i, -1, n - 1);
        }

        long a = Norm(start, st > 0 ? 0 : n - 1), b = Norm(stop, st > 0 ? n : -1);
        var result = new List<object?>();
        for (long i = a; st > 0 ? i < b : i > b; i += st) result.Add(items[(int)i]);
        return target is string ? string.Concat(result.Select(x => (string)x!)) : result;
    }
}
