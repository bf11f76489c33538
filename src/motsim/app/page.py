"""The script Streamlit runs (`motsim app` serves it): the page itself is `motsim.app.main`."""

from motsim.app.main import main

if __name__ == "__main__":  # Streamlit runs the page as __main__; worker processes that import it do not
    main()
