{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='book_id') }}

select book_id, author_id, title, upper(title) as shelf_title, loaded_at
from {{ ref('stg_books') }}
{% if is_incremental() %}
where loaded_at > (select max(loaded_at) from {{ this }})
{% endif %}
