package hydraent

// SetInterceptHook makes f run on every query the interceptor answers.
func SetInterceptHook(f func()) { interceptHook = f }
